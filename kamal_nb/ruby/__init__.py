"""Ruby as Kamal's configuration files observe it: ERB and a Ruby subset, Psych YAML, dotenv, Ruby's
string quoting and JSON. Nothing here knows about Kamal's configuration (kamal_nb.config builds on it).
"""
