"""The data of the privacy tests: a small shop with two people, p1 (with its merged record w1) and p2."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from segflow.workspace import Workspace

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)

FILES = {
    "profiles": "profile_id,email,phone,first_name,city,created_at\n"
                "p1, Ann@X.com ,138-0000-0001,Ann,Shanghai,2025-01-01T00:00:00Z\n"
                "p2,bo@x.com,13800000002,Bo,Beijing,2025-01-02T00:00:00Z\n",
    "identities": "profile_id,type,value\n"
                  "w1,wechat_openid,oA1xyz\nw1,phone,13800000001\np1,anonymous_id,anon1xyz\n"
                  "p2,wechat_openid,oB2xyz\n",
    "events": "event_id,profile_id,anonymous_id,event,ts,properties\n"
              "e1,p1,,signup,2026-03-01T10:00:00Z,\"{\"\"plan\"\": \"\"pro\"\"}\"\n"
              "e2,,anon1xyz,view,2026-02-01T10:00:00Z,{}\n"
              "e3,p2,anon2xyz,signup,2026-03-01T11:00:00Z,\"{\"\"plan\"\": \"\"pro\"\"}\"\n"
              "e4,w1,,view,2026-02-02T10:00:00Z,{}\n",
    "orders": "order_id,profile_id,ts,amount\nord1xyz,p1,2026-02-01T00:00:00Z,100\nord2xyz,p2,2026-02-01T00:00:00Z,50\n",
    "order_items": "order_id,sku,quantity,price\nord1xyz,sku1,1,100\nord2xyz,sku2,1,50\n",
    "memberships": "profile_id,kind,key,since\nw1,official_account,gh1,2025-05-01T00:00:00Z\n"
                   "p2,official_account,gh1,2025-05-01T00:00:00Z\n",
    "subscriptions": "profile_id,channel,topic,status,ts\np1,email,,opted_in,2026-01-01T00:00:00Z\n"
                     "p2,email,,opted_in,2026-01-01T00:00:00Z\n",
}
#: A profiles file with one bad row of p1: it goes to the rejects file.
BAD = "profile_id,email,birthday\np1,ann@x.com,not-a-date\n"

JOURNEY = """
entry:
  event: {name: signup, where: {plan: {eq: pro}}}
start: welcome
nodes:
  welcome:
    send: {channel: email, template: welcome}
    next: done
  done:
    exit: {}
"""

#: Every id and identifier value of the person p1 / w1 (what must be gone after the erasure).
P1_IDS = ("p1", "w1", "anon1xyz", "ord1xyz")
P1_VALUES = ("ann@x.com", "Ann@X.com", "+8613800000001", "13800000001", "138-0000-0001", "oA1xyz", "Ann")


def load(ws: Workspace, folder: Path, kinds: tuple[str, ...] = tuple(FILES)) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind in kinds:
        path = folder / f"{kind}.csv"
        path.write_text(FILES[kind], encoding="utf-8")
        out[kind] = ws.load(kind, [path])[0]
    return out


