"""Session 54 review (s54-revlib): a write to a fresh node whose SYNs are dropped, with
less of the deadline left than timeout_s: sync vs async. Before the fix: sync NoNodeError,
async OutcomeUnknownError. Run from the root: ``.venv/bin/python probes/23c-review-async-unsent-write.py``.
"""
import asyncio, socket, sys, time
sys.path.insert(0, ".")
from impl.http_client import AsyncClient, Client
lis = socket.socket(); lis.bind(("127.0.0.1", 0)); lis.listen(0)
port = lis.getsockname()[1]
fill = []
for i in range(3):
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    fill.append(s)
time.sleep(0.2)
addr = f"127.0.0.1:{port}"
def mk(cls):
    c = cls([addr], timeout_s=2.0, deadline_s=1.0)
    c.router.answered(f"http://{addr}")
    c.router._learned_at = c.router._now()  # white-box: no /status first
    return c
c = mk(Client); t = time.monotonic()
try: c.put("k", b"v")
except Exception as e: print("sync", type(e).__name__, round(time.monotonic() - t, 2), str(e)[:200])
c.close()
async def main():
    c = mk(AsyncClient); t = time.monotonic()
    try: await c.put("k", b"v")
    except Exception as e: print("async", type(e).__name__, round(time.monotonic() - t, 2), str(e)[:200])
    await c.aclose()
asyncio.run(main())
