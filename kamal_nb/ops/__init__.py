"""Operations, grouped as Kamal's CLI classes are (lib/kamal/cli/): main/, app/, proxy/, build/, lock/,
accessory, prune, registry, server, secrets, env; the other top-level modules are shared by every class
(questions.py: the read-only questions of every class; follow.py: their logs -f and exec).
"""
