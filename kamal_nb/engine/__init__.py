"""The orchestration engine: one way to say what an operation does on hosts, and one way to run it.

* `script`: the value (`Script` of `Phase`s of per-host actions, gates, hooks, uploads...), from
  which an operation's plan and its run both come;
* `run`: the one runner: it records (`record.Recorder`), batches a host's consecutive commands into
  one round trip (`trips`), decides which failures are tolerated, holds the deploy lock
  (`lock.holding`, the one lock scope) and turns Ctrl-C into one `OperationInterrupted` with a
  per-host account;
* host fan-out goes through the one thread pool, `kamal_nb.fleet.fanout.fan_out`.

It sits between the fleet (SSH, hosts, events) and the operations (kamal_nb.ops), and knows
nothing of any one Kamal command. Where later work goes: per-command timeouts, SSH liveness and
SIGTERM in `fan_out` and `run.run_operation`; live output lines in the events the runner publishes.
"""
