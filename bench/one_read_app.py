"""A second baseline for ``bench/http_load.py --one-read``: the least a command that reads the
store can cost under Bolt.

Served by gunicorn as ``one_read_app:app``. Like ``salesbot serve`` it runs Bolt with
``process_before_response=True`` (the reply is the HTTP response, no ack polling); its one
listener answers every slash command with one indexed SQLAlchemy Core read of the demo
company's lead "Acme Corp" and its department, formatted in an f-string: no session, no
locale, no templates. Settings come from the environment as for ``bare_app``, plus
``DATABASE_URL``.
"""

from __future__ import annotations

import os
import re

from bare_app import wsgi
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import bindparam, create_engine, select

from bot.store.models import Department, Lead

engine = create_engine(os.environ["DATABASE_URL"], pool_size=16)
LEAD = (
    select(Lead.__table__.c.name, Lead.__table__.c.owner_id, Department.__table__.c.name)
    .outerjoin(Department.__table__, Lead.__table__.c.department_id == Department.__table__.c.id)
    .where(Lead.__table__.c.name_key == bindparam("key"))
)

bolt = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(base_url=os.environ["SLACK_API_URL"], token=os.environ["SLACK_BOT_TOKEN"]),
    token_verification_enabled=False,
    process_before_response=True,
)


@bolt.command(re.compile(r"^/"))
def _any_command(ack) -> None:
    with engine.connect() as connection:
        name, owner, department = connection.execute(LEAD, {"key": "acme"}).one()
    ack(text=f"*{name}* — <@{owner}>, {department}")


app = wsgi(bolt)
