#!/usr/bin/env bash
# Checks `--help` on every phr command and subcommand listed in the help texts,
# and the exit statuses of usage errors.
set -u
phr=$1
fail=0
check_help() {
  local out rc
  out=$("$phr" "$@" --help 2>&1); rc=$?
  if [ $rc -ne 0 ] || ! grep -qi 'usage' <<<"$out"; then
    echo "FAIL: phr $* --help exited $rc or printed no usage:"; echo "$out" | head -5
    fail=$((fail + 1))
  else
    echo "ok: phr $* --help"
  fi
}
# list the names under a "commands:" or "subcommands:" heading of a help text
list_cmds() {
  awk '/^(sub)?commands:/{on=1; next} on && /^  [a-z]/{print $1; next} on && /^$/{on=0}' 
}
check_help
for c in $("$phr" --help | list_cmds); do
  check_help "$c"
  for s in $("$phr" "$c" --help 2>/dev/null | list_cmds); do
    check_help "$c" "$s"
  done
done
"$phr" no-such-command >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: unknown command exited $rc, want 2"; fail=$((fail + 1)); }
"$phr" --no-such-option >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: unknown option exited $rc, want 2"; fail=$((fail + 1)); }
"$phr" version extra >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || { echo "FAIL: 'version extra' exited $rc, want 2"; fail=$((fail + 1)); }
echo "$fail failed"
[ $fail -eq 0 ]
