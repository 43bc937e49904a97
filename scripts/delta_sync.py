#!/usr/bin/env python3
"""Restate functions that changed since the last release in the current upgrade delta, byte for byte
from the concern files (sql/NN_*.sql), so that tests/scenarios/upgrade.sh finds an upgraded database
identical to a fresh install. Usage: scripts/delta_sync.py [--delta FILE] schema.function ...
A function already in the delta is replaced in place (its create / create or replace kept); a new
one is added, with its COMMENT, before the delta's last section (the privileges). Comments of
functions already in the delta are not touched: restate those by hand."""
import glob
import os
import re
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
args = sys.argv[1:]
DELTA = 'sql/pilot_guardrails--0.2.1--0.3.0.sql'
if args[:1] == ['--delta']:
    DELTA, args = args[1], args[2:]
MARK = '-- ---------------------------------------------------------------------------------------------\n-- 10. Privileges, last (SPEC §2).'
def find_def(text, name):
    m = re.search(r'^create (or replace )?function ' + re.escape(name) + r'\(', text, re.M)
    if not m: return None
    start = m.start()
    # body ends at first line "$$;" after an "as $$" / "as '...'" 
    end_body = text.find('\n$$;\n', start)
    c_end = text.find(";\n", start)
    if re.match(r'.*language c', text[start:c_end+2], re.S) and (end_body == -1 or c_end < end_body):
        end = c_end + 2
    else:
        end = end_body + 5
    return start, end
concern = ''.join(open(f).read() for f in sorted(glob.glob('sql/[0-9][0-9]_*.sql')))
d = open(DELTA).read()
for name in args:
    cs = find_def(concern, name); assert cs, name
    new = concern[cs[0]:cs[1]]
    body = new[len('create function '):] if new.startswith('create function ') else new[len('create or replace function '):]
    ds = find_def(d, name)
    if ds:
        prefix = 'create or replace function ' if d[ds[0]:].startswith('create or replace') else 'create function '
        d = d[:ds[0]] + prefix + body + d[ds[1]:]
        print('restated', name)
    else:
        cm = re.search(r'^comment on function ' + re.escape(name) + r'\(.*?;\n(?=\n|--|create|comment|select|do|alter|grant|revoke|drop)', concern[cs[1]:], re.M | re.S)
        comment = cm.group(0) if cm and cm.start() < 5 else ''
        d = d.replace(MARK, 'create or replace function ' + body + comment + '\n' + MARK)
        print('added', name, 'with comment' if comment else 'NO COMMENT')
open(DELTA, 'w').write(d)
