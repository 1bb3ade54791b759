#!/bin/bash
# mutants of session 54's review (s54-revlib); run from the worktree
cd "$(dirname "$0")/.."
mkdir -p /tmp/s54revlib && cp impl/http_client.py /tmp/s54revlib/fixed.py
run() {
  echo "== mutant $1"
  CI=true timeout 200 .venv/bin/python -m pytest -p no:cacheprovider -n 0 -q "$2" 2>&1 | tail -1
  cp /tmp/s54revlib/fixed.py impl/http_client.py
}
python3 - <<'P'
from pathlib import Path
p = Path("impl/http_client.py"); s = p.read_text()
s = s.replace('        if "/kv/" not in url:\n            return 0.0', '        if True:\n            return 0.0', 1)
p.write_text(s)
P
run record_s_zero tests/runtime/test_client_large_record_wait.py
python3 - <<'P'
from pathlib import Path
p = Path("impl/http_client.py"); s = p.read_text()
old = "                        bound = _bound(method, self._timeout_s, self._deadline_s, until,\n                                       self.router.record_s(url))\n"
assert old in s
s = s.replace(old, "                        bound = _bound(method, self._timeout_s, self._deadline_s, until)\n", 1)
p.write_text(s)
P
run async_without tests/runtime/test_client_large_record_wait.py
python3 - <<'P'
from pathlib import Path
p = Path("impl/http_client.py"); s = p.read_text()
old = "            self.began = True\n"
assert old in s
s = s.replace(old, old + "        self.began = True  # MUTANT\n", 1)
p.write_text(s)
P
run began_always tests/vdynamo/test_client_async_unsent_write.py
