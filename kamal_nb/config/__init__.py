"""deploy.yml and .kamal/secrets loaded exactly as Kamal 2.12 loads them, into an immutable Config."""
