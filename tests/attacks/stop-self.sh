#!/usr/bin/env bash
# Attack: stop ourselves (SIGSTOP) so that nothing runs and no CPU time is used; the box must
# still end at its wall-clock limit.
kill -STOP $$
echo "resumed"
