"""A corpus of Kamal 2 configs written the way public projects write them (Rails, Django, Laravel,
Node; 2-5 roles, up to 10 destinations, postgres/mysql/redis/valkey/opensearch/clickhouse accessories,
remote/cached builders with args and secrets, proxy SSL with certificates, awslogs logging, custom
hooks_path/secrets_path, and the ERB public configs use), for the side-by-side test with the real
Kamal (test_public_corpus.py). Every value is made up; commands in ERB are local and harmless.

`PROJECTS` maps a name to its files; `RUNS` lists (project, destination) pairs to load.
"""

from __future__ import annotations

_RAILS_SECRETS = (
    "KAMAL_REGISTRY_PASSWORD=$KAMAL_REGISTRY_PASSWORD\n"
    "RAILS_MASTER_KEY=3f2a9c7e1b5d4e6f8a0b\n"
    "POSTGRES_PASSWORD=pg-Secret-91\n"
    "REDIS_PASSWORD='redis pw with spaces'\n"
)


def _rails(name: str, *, extra: str = "", roles: str = "", accessories: str = "", builder: str = "") -> str:
    return f"""# Name of your application. Used to uniquely configure containers.
service: {name}

# Name of the container image.
image: acme/{name}

# Deploy to these servers.
servers:
  web:
    - 192.0.2.10
{roles}
proxy:
  ssl: true
  host: {name}.example.com

registry:
  server: ghcr.io
  username: acme-bot
  password:
    - KAMAL_REGISTRY_PASSWORD

builder:
  arch: amd64
{builder}
env:
  secret:
    - RAILS_MASTER_KEY
    - POSTGRES_PASSWORD
  clear:
    SOLID_QUEUE_IN_PUMA: true
    DB_HOST: {name}-db
    RAILS_LOG_LEVEL: info

aliases:
  console: app exec --interactive --reuse "bin/rails console"
  shell: app exec --interactive --reuse "bash"
  logs: app logs -f
  dbc: app exec --interactive --reuse "bin/rails dbconsole"

volumes:
  - "{name}_storage:/rails/storage"

asset_path: /rails/public/assets
{accessories}{extra}"""


_POSTGRES = """
accessories:
  db:
    image: postgres:16.4
    host: 192.0.2.20
    port: "127.0.0.1:5432:5432"
    env:
      clear:
        POSTGRES_USER: app
        POSTGRES_DB: app_production
      secret:
        - POSTGRES_PASSWORD
    files:
      - db/init.sql:/docker-entrypoint-initdb.d/setup.sql
    directories:
      - data:/var/lib/postgresql/data
"""

_REDIS = """  redis:
    image: redis:7.4
    host: 192.0.2.20
    port: 6379
    cmd: redis-server --requirepass "$REDIS_PASSWORD"
    env:
      secret:
        - REDIS_PASSWORD
    directories:
      - data:/data
"""

_DJANGO_BASE = """service: {name}
image: acme/{name}
servers:
  web:
    hosts:
      - 198.51.100.5
      - 198.51.100.6
    cmd: gunicorn {name}.wsgi --bind 0.0.0.0:8000 --workers 3
  worker:
    hosts:
      - 198.51.100.7
    cmd: celery -A {name} worker -l info
    env:
      clear:
        CELERY_CONCURRENCY: 4
  beat:
    hosts:
      - 198.51.100.7
    cmd: celery -A {name} beat -l info
proxy:
  app_port: 8000
  host: {name}.example.org
  healthcheck:
    path: /healthz/
    interval: 3
    timeout: 5
registry:
  username: acmebot
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
  args:
    PYTHON_VERSION: "3.12"
env:
  clear:
    DJANGO_SETTINGS_MODULE: {name}.settings.production
    ALLOWED_HOSTS: {name}.example.org
  secret:
    - DJANGO_SECRET_KEY
    - DATABASE_URL
"""
_DJANGO_SECRETS = (
    "KAMAL_REGISTRY_PASSWORD=dckr_pat_made_up_1234\n"
    "DJANGO_SECRET_KEY='dj@ngo-s3cret$key!'\n"
    "DATABASE_URL=postgres://app:pw@db.internal:5432/app\n"
)

_LARAVEL = """service: {name}
image: acme/{name}
servers:
  web:
    - 203.0.113.30
  queue:
    hosts:
      - 203.0.113.31
    cmd: php artisan queue:work --tries=3
  scheduler:
    hosts:
      - 203.0.113.31
    cmd: php artisan schedule:work
proxy:
  ssl: true
  hosts:
    - {name}.example.net
    - www.{name}.example.net
  app_port: 8080
registry:
  server: registry.digitalocean.com
  username: acme-token
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
  cache:
    type: registry
    options: mode=max
env:
  clear:
    APP_ENV: production
    DB_CONNECTION: mysql
    DB_HOST: {name}-mysql
    CACHE_STORE: redis
  secret:
    - APP_KEY
    - DB_PASSWORD
accessories:
  mysql:
    image: mysql:8.0
    host: 203.0.113.32
    port: 3306
    env:
      clear:
        MYSQL_ROOT_HOST: '%'
        MYSQL_DATABASE: {name}
      secret:
        - MYSQL_ROOT_PASSWORD
    files:
      - config/mysql/production.cnf:/etc/mysql/my.cnf
    directories:
      - data:/var/lib/mysql
  redis:
    image: valkey/valkey:8
    host: 203.0.113.32
    port: 6379
    directories:
      - data:/data
"""
_LARAVEL_SECRETS = (
    "KAMAL_REGISTRY_PASSWORD=dop_v1_made_up_token\n"
    "APP_KEY=base64:c2VjcmV0LWxhcmF2ZWwta2V5LW1hZGUtdXA=\n"
    "DB_PASSWORD=laravel-db-pw\n"
    "MYSQL_ROOT_PASSWORD=laravel-db-pw\n"
)

_NODE = """service: {name}
image: acme/{name}
servers:
  - 192.0.2.50
proxy:
  host: {name}.example.com
  app_port: 3000
  ssl: true
  healthcheck:
    path: /api/health
registry:
  server: ghcr.io
  username:
    - GITHUB_USER
  password:
    - GITHUB_TOKEN
builder:
  arch:
    - amd64
  context: .
  dockerfile: Dockerfile.production
env:
  clear:
    NODE_ENV: production
    PORT: 3000
  secret:
    - SESSION_SECRET
"""
_NODE_SECRETS = "GITHUB_USER=acme-ci\nGITHUB_TOKEN=ghp_madeUpToken123\nSESSION_SECRET=sess-made-up-42\n"

_TEN_DESTINATIONS = ("staging", "production", "qa", "demo", "eu", "us", "asia", "canary", "preview", "perf")


def _projects() -> dict[str, dict[str, str]]:
    projects: dict[str, dict[str, str]] = {}
    rails_files = {"db/init.sql": "CREATE DATABASE IF NOT EXISTS app;\n", ".kamal/secrets": _RAILS_SECRETS}
    projects["rails-init-style"] = {**rails_files, "config/deploy.yml": _rails("shop", accessories=_POSTGRES + _REDIS)}
    projects["rails-web-job"] = {
        **rails_files,
        "config/deploy.yml": _rails(
            "blog",
            roles="  job:\n    hosts:\n      - 192.0.2.11\n    cmd: bin/jobs\n",
            accessories=_POSTGRES,
            builder="  cache:\n    type: gha\n  args:\n    RUBY_VERSION: <%= File.read('.ruby-version').strip %>\n",
        ),
        ".ruby-version": "3.3.6\n",
    }
    projects["rails-remote-builder"] = {
        **rails_files,
        "config/deploy.yml": _rails(
            "crm",
            builder="  remote: ssh://builder@192.0.2.99\n  local: false\n  secrets:\n    - RAILS_MASTER_KEY\n",
        ),
    }
    projects["rails-awslogs"] = {
        **rails_files,
        "config/deploy.yml": _rails(
            "ledger",
            extra="logging:\n  driver: awslogs\n  options:\n    awslogs-region: eu-west-1\n"
            "    awslogs-group: /ledger/production\n    awslogs-create-group: true\n",
        ),
    }
    projects["rails-ssl-certificate"] = {
        ".kamal/secrets": _RAILS_SECRETS + "CERT_PEM=-----BEGIN CERT-----\nKEY_PEM=-----BEGIN KEY-----\n",
        "config/deploy.yml": _rails("vault").replace(
            "proxy:\n  ssl: true\n",
            "proxy:\n  ssl:\n    certificate_pem: CERT_PEM\n    private_key_pem: KEY_PEM\n",
        ),
    }
    projects["rails-hooks-secrets-path"] = {
        "config/secrets/production": _RAILS_SECRETS,
        "config/deploy.yml": _rails(
            "desk", extra="hooks_path: bin/kamal-hooks\nsecrets_path: config/secrets/production\n"
        ),
    }
    projects["rails-dotenv-erb"] = {
        **rails_files,
        ".env.production": "DB_HOST=db.internal.example\nAPP_HOST=orders.example.com\n",
        "config/deploy.yml": '<% require "dotenv"; Dotenv.load(".env.production") %>\n'
        + _rails("orders", accessories=_POSTGRES).replace("host: orders.example.com", 'host: <%= ENV["APP_HOST"] %>'),
    }
    projects["rails-env-tags"] = {
        **rails_files,
        "config/deploy.yml": _rails(
            "metrics",
            roles="  workers:\n    hosts:\n      - 192.0.2.12: [eu]\n      - 192.0.2.13: [us]\n    cmd: bin/jobs\n",
            extra="env:\n  clear:\n    RAILS_ENV: production\n  secret:\n    - RAILS_MASTER_KEY\n  tags:\n"
            "    eu:\n      REGION: eu-west-1\n    us:\n      REGION: us-east-1\n",
        ).replace(
            "env:\n  secret:\n    - RAILS_MASTER_KEY\n    - POSTGRES_PASSWORD\n  clear:\n"
            "    SOLID_QUEUE_IN_PUMA: true\n    DB_HOST: metrics-db\n    RAILS_LOG_LEVEL: info\n",
            "",
        ),
    }
    projects["rails-five-roles"] = {
        **rails_files,
        "config/deploy.yml": _rails(
            "market",
            roles="  jobs:\n    hosts: [192.0.2.14]\n    cmd: bin/jobs\n"
            "  cable:\n    hosts: [192.0.2.15]\n    cmd: bin/cable\n    proxy:\n      host: cable.market.example.com\n"
            "      app_port: 28080\n"
            "  cron:\n    hosts: [192.0.2.14]\n    cmd: bin/cron\n"
            "  mailer:\n    hosts: [192.0.2.16]\n    cmd: bin/mailer\n",
        ),
    }
    projects["rails-boot-sshkit"] = {
        **rails_files,
        "config/deploy.yml": _rails(
            "farm",
            roles="  web2:\n    hosts: [192.0.2.17, 192.0.2.18, 192.0.2.19]\n",
            extra="boot:\n  limit: 25%\n  wait: 2\nssh:\n  user: deploy\n  port: 2222\n  keys_only: true\n"
            "sshkit:\n  max_concurrent_starts: 10\n  pool_idle_timeout: 300\nretain_containers: 3\n"
            "readiness_delay: 15\ndeploy_timeout: 60\ndrain_timeout: 20\n",
        ),
    }
    django = _DJANGO_BASE.format(name="polls")
    projects["django-three-roles"] = {".kamal/secrets": _DJANGO_SECRETS, "config/deploy.yml": django}
    projects["django-opensearch"] = {
        ".kamal/secrets": _DJANGO_SECRETS + "OPENSEARCH_PASSWORD=Os-Made-Up-1!\n",
        "config/deploy.yml": _DJANGO_BASE.format(name="search")
        + "accessories:\n  opensearch:\n    image: opensearchproject/opensearch:2.17.0\n    host: 198.51.100.9\n"
        '    port: "127.0.0.1:9200:9200"\n    env:\n      clear:\n        discovery.type: single-node\n'
        "        OPENSEARCH_JAVA_OPTS: -Xms512m -Xmx512m\n      secret:\n"
        "        - OPENSEARCH_INITIAL_ADMIN_PASSWORD:OPENSEARCH_PASSWORD\n"
        "    directories:\n      - data:/usr/share/opensearch/data\n",
    }
    projects["django-clickhouse"] = {
        ".kamal/secrets": _DJANGO_SECRETS + "CLICKHOUSE_PASSWORD=ch-made-up\n",
        "config/deploy.yml": _DJANGO_BASE.format(name="events")
        + "accessories:\n  clickhouse:\n    image: clickhouse/clickhouse-server:24.8\n    host: 198.51.100.9\n"
        "    port: 8123\n    options:\n      ulimit: nofile=262144:262144\n    env:\n      clear:\n"
        "        CLICKHOUSE_DB: events\n        CLICKHOUSE_USER: events\n      secret:\n        - CLICKHOUSE_PASSWORD\n"
        "    volumes:\n      - /var/lib/clickhouse:/var/lib/clickhouse\n",
    }
    destinations = {
        f"config/deploy.{dest}.yml": f"servers:\n  web:\n    hosts:\n      - 10.{index}.0.5\n"
        f"  worker:\n    hosts:\n      - 10.{index}.0.6\n  beat:\n    hosts:\n      - 10.{index}.0.6\n"
        f"proxy:\n  host: {dest}.polls.example.org\n  app_port: 8000\n"
        f"env:\n  clear:\n    DEPLOY_ENV: {dest}\n"
        for index, dest in enumerate(_TEN_DESTINATIONS)
    }
    projects["django-ten-destinations"] = {
        ".kamal/secrets-common": _DJANGO_SECRETS,
        **{f".kamal/secrets.{dest}": f"DEPLOY_TOKEN={dest}-token-made-up\n" for dest in _TEN_DESTINATIONS},
        "config/deploy.yml": django.replace("servers:\n  web:", "require_destination: true\nservers:\n  web:"),
        **destinations,
    }
    projects["laravel-mysql-valkey"] = {
        ".kamal/secrets": _LARAVEL_SECRETS,
        "config/mysql/production.cnf": "[mysqld]\nmax_connections=200\n",
        "config/deploy.yml": _LARAVEL.format(name="invoices"),
    }
    projects["laravel-staging-production"] = {
        ".kamal/secrets-common": _LARAVEL_SECRETS,
        ".kamal/secrets.staging": "APP_KEY=base64:c3RhZ2luZy1rZXk=\n",
        "config/mysql/production.cnf": "[mysqld]\n",
        "config/deploy.yml": _LARAVEL.format(name="tickets").replace(
            "servers:\n  web:\n    - 203.0.113.30\n", "servers:\n  web:\n    - 203.0.113.30\n", 1
        ),
        "config/deploy.staging.yml": "servers:\n  web:\n    - 203.0.113.40\n  queue:\n    hosts:\n      - 203.0.113.41\n"
        "  scheduler:\n    hosts:\n      - 203.0.113.41\nproxy:\n  ssl: false\n  host: staging.tickets.example.net\n",
        "config/deploy.production.yml": "env:\n  clear:\n    APP_DEBUG: false\n",
    }
    projects["node-single-server"] = {".kamal/secrets": _NODE_SECRETS, "config/deploy.yml": _NODE.format(name="api")}
    projects["node-uri-erb"] = {
        ".kamal/secrets": _NODE_SECRETS,
        "config/deploy.yml": '<% require "uri"; redis = URI.parse(ENV.fetch("REDIS_URL", "redis://cache.internal:6380/0")) %>\n'
        + _NODE.format(name="chat")
        + "  # REDIS_HOST: <%= redis.host %>\naccessories:\n  valkey:\n    image: valkey/valkey:8\n"
        "    host: 192.0.2.51\n    port: <%= redis.port %>\n    cmd: valkey-server --port <%= redis.port %>\n",
    }
    projects["node-git-erb-labels"] = {
        ".kamal/secrets": _NODE_SECRETS,
        "config/deploy.yml": _NODE.format(name="shopfront")
        + 'labels:\n  build: <%= `echo 0a1b2c3`.strip %>\n  team: web\n  ci: <%= ENV.fetch("CI") { "local" } %>\n',
    }
    projects["node-ecr-backticks"] = {
        ".kamal/secrets": "SESSION_SECRET=sess-made-up-42\n",
        "config/deploy.yml": _NODE.format(name="pay").replace(
            "registry:\n  server: ghcr.io\n  username:\n    - GITHUB_USER\n  password:\n    - GITHUB_TOKEN\n",
            "registry:\n  server: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\n  username: AWS\n"
            "  password: <%= %x(echo made-up-ecr-password).strip %>\n",
        ),
    }
    projects["node-multiarch-cache"] = {
        ".kamal/secrets": _NODE_SECRETS + "NPM_TOKEN=npm_made_up\n",
        "config/deploy.yml": _NODE.format(name="docs").replace(
            "builder:\n  arch:\n    - amd64\n",
            "builder:\n  arch:\n    - amd64\n    - arm64\n  remote: ssh://root@192.0.2.98\n"
            "  cache:\n    type: registry\n    image: acme/docs-build-cache\n  secrets:\n    - NPM_TOKEN\n"
            "  args:\n    NODE_VERSION: 22\n",
        ),
    }
    # Configs Kamal refuses: kamal_nb must refuse them with the same first line.
    projects["refused-no-servers"] = {
        ".kamal/secrets": _NODE_SECRETS,
        "config/deploy.yml": _NODE.format(name="empty").replace("servers:\n  - 192.0.2.50\n", ""),
    }
    projects["refused-bad-role-key"] = {
        ".kamal/secrets": _RAILS_SECRETS,
        "config/deploy.yml": _rails("typo", roles="  job:\n    hosts: [192.0.2.11]\n    command: bin/jobs\n"),
    }
    projects["refused-ssl-many-hosts"] = {
        ".kamal/secrets": _RAILS_SECRETS,
        "config/deploy.yml": _rails("scale").replace("    - 192.0.2.10\n", "    - 192.0.2.10\n    - 192.0.2.11\n"),
    }
    projects["refused-missing-destination"] = {
        ".kamal/secrets-common": _DJANGO_SECRETS,
        "config/deploy.yml": django.replace("servers:\n  web:", "require_destination: true\nservers:\n  web:"),
    }
    projects["refused-accessory-no-host"] = {
        ".kamal/secrets": _LARAVEL_SECRETS,
        "config/deploy.yml": _LARAVEL.format(name="nohost").replace(
            "    host: 203.0.113.32\n    port: 3306\n", "    port: 3306\n"
        ),
    }
    return projects


PROJECTS = _projects()

RUNS: list[tuple[str, str | None]] = [
    (name, None) for name in PROJECTS if name not in ("django-ten-destinations", "laravel-staging-production")
]
RUNS += [("django-ten-destinations", dest) for dest in _TEN_DESTINATIONS]
RUNS += [("django-ten-destinations", None)]  # require_destination: Kamal refuses without -d
RUNS += [("laravel-staging-production", "staging"), ("laravel-staging-production", "production")]
