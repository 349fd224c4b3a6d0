"""The real test fleet: SSH hosts with their own Docker engines, a build engine and a registry.

Each host lives in its own network namespace (own IP on a private bridge, no default route: nothing
it does can leave the machine) and its own mount and UTS namespaces (own hostname, ``/root``,
``/run``, ``/var/lib/docker``, ``/etc/docker``, ``/etc/ssh``), and runs its own dockerd and a
key-only root sshd, so it looks like a plain server to Kamal and to kamal_nb. A further namespace
holds the local build engine, and a docker registry with a login listens on the bridge.

    python -m kamal_nb.testing.fleet up [N]     # bring up N hosts (default 3), print the layout
    python -m kamal_nb.testing.fleet down       # stop everything this fleet started
    python -m kamal_nb.testing.fleet status     # show the recorded layout

``KAMAL_NB_FLEET_NUMBER=N`` (0-9) works on a fleet of that number's own (``numbered_fleet``), beside
the default one: what ``./dev demo`` runs on when several run side by side (tests, helpers).

Needs root, Linux namespaces and Debian's docker.io, openssh-server, docker-registry and
busybox-static (installed when missing). There is no Docker Hub here: every image is built from a
busybox root filesystem imported with ``docker import``, so no engine ever reaches for a pull it
cannot make. Processes are stopped by their own PIDs (pid files, and the processes living in the
fleet's own namespaces and cgroups), never by name.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from kamal_nb.testing.fleet_info import FleetHost, FleetInfo, show
from kamal_nb.testing.machine import (
    FleetError,
    install_packages,
    log,
    missing_requirements,
    pid_alive,
    program,
    read_pid,
    run,
    stop_pids,
    wait_until,
)

# what tests, benchmarks and the demo import from here
__all__ = [
    "Fleet",
    "FleetError",
    "FleetHost",
    "FleetInfo",
    "log",
    "missing_requirements",
    "numbered_fleet",
    "pid_alive",
    "run",
    "show",
]

REGISTRY_USER = "testuser"
REGISTRY_PASSWORD = "testpass"  # a throwaway credential of a registry that only listens on the bridge


class Fleet:
    """One test fleet, described by where it keeps its files and how its names are prefixed.

    Two fleets with different ``base``, ``prefix``, ``bridge`` and ``subnet`` can run side by side.
    """

    def __init__(
        self,
        base: Path | str | None = None,
        *,
        prefix: str = "kn-",
        bridge: str = "knbr0",
        subnet: str = "10.200.0",
    ) -> None:
        default_base = os.environ.get("KAMAL_NB_FLEET_BASE") or Path.cwd() / ".fleet"
        self.base = Path(base or default_base).resolve()
        self.prefix = prefix  # netns and veth names: veth names must stay within 15 characters
        self.bridge = bridge
        self.subnet = subnet  # a /24: .1 bridge + registry, .2 build engine, .11.. hosts
        self.registry = f"{subnet}.1:5000"

    # -- layout ---------------------------------------------------------------------------------

    def node_dir(self, name: str) -> Path:
        return self.base / "nodes" / name

    def netns(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def host_ip(self, index: int) -> str:
        return f"{self.subnet}.{10 + index}"

    @property
    def ssh_dir(self) -> Path:
        return self.base / "ssh"

    def docker_socket(self, name: str) -> str:
        return f"unix://{self.node_dir(name)}/run/docker.sock"

    def info(self) -> FleetInfo:
        return FleetInfo.load(self.base)

    def recorded_nodes(self) -> list[str]:
        nodes = self.base / "nodes"
        return sorted(p.name for p in nodes.iterdir() if p.is_dir()) if nodes.is_dir() else []

    # -- up -------------------------------------------------------------------------------------

    def up(self, hosts: int = 3, *, images: bool = True) -> FleetInfo:
        if not 1 <= hosts <= 89:
            raise FleetError(f"a fleet has 1 to 89 hosts, not {hosts}")
        reasons = missing_requirements()
        if reasons:
            raise FleetError("; ".join(reasons))
        install_packages()
        started = time.monotonic()
        self.clear_leftovers()
        self.base.mkdir(parents=True, exist_ok=True)
        self._make_ssh_material()
        self._bridge_up()
        registry_pid = self._registry_up()
        self._dns_up()
        names = ["local", *(f"h{i}" for i in range(1, hosts + 1))]
        ips = {"local": f"{self.subnet}.2", **{f"h{i}": self.host_ip(i) for i in range(1, hosts + 1)}}
        for name in names:
            self._node_up(name, ips[name], with_sshd=name != "local")
        wait_until("the registry", self._registry_answers, 10, self.base / "registry/registry.log")
        for name in names:
            wait_until(
                f"dockerd on {name}",
                functools.partial(self._engine_answers, name),
                30,
                self.node_dir(name) / "dockerd.log",
            )
        for name in names[1:]:
            wait_until(
                f"sshd on {name}",
                functools.partial(self._port_open, ips[name], 22),
                10,
                self.node_dir(name) / "sshd.log",
            )
        info = FleetInfo(
            base=str(self.base),
            prefix=self.prefix,
            bridge=self.bridge,
            registry=self.registry,
            registry_user=REGISTRY_USER,
            registry_password=REGISTRY_PASSWORD,
            ssh_user="root",
            ssh_key=str(self.ssh_dir / "id_ed25519"),
            ssh_config=str(self.ssh_dir / "config"),
            known_hosts=str(self.ssh_dir / "known_hosts"),
            local_docker_socket=self.docker_socket("local"),
            hosts=tuple(FleetHost(n, ips[n], self.docker_socket(n)) for n in names[1:]),
        )
        self._write_known_hosts(info)
        self._save(info)
        log(f"engines, sshd and registry (pid {registry_pid}) up in {time.monotonic() - started:.2f}s")
        if images:
            from kamal_nb.testing.images import provide_images

            info = FleetInfo(**{**asdict(info), "hosts": info.hosts, "images": provide_images(info)})
            self._save(info)
        log(f"up: registry + build engine + {hosts} hosts + images in {time.monotonic() - started:.2f}s")
        return info

    def _save(self, info: FleetInfo) -> None:
        (self.base / "fleet.json").write_text(json.dumps(asdict(info), indent=2) + "\n")

    def _make_ssh_material(self) -> None:
        self.ssh_dir.mkdir(parents=True, exist_ok=True)
        key = self.ssh_dir / "id_ed25519"
        if not key.exists():
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kamal-nb-test-fleet", "-f", str(key))
        (self.ssh_dir / "config").write_text(
            f"# Client settings for the test fleet ({self.subnet}.0/24)\n"
            f"Host {self.subnet}.*\n"
            "  User root\n"
            f"  IdentityFile {key}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {self.ssh_dir / 'known_hosts'}\n"
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
        )

    def _write_known_hosts(self, info: FleetInfo) -> None:
        # We hold the host keys, so known_hosts is written from them: no ssh-keyscan round trip.
        lines = []
        for host in info.hosts:
            pub = (self._host_key_dir(host.name) / "ssh_host_ed25519_key.pub").read_text().split()
            lines.append(f"{host.ip} {pub[0]} {pub[1]}")
        Path(info.known_hosts).write_text("\n".join(lines) + "\n")

    def _host_key_dir(self, name: str) -> Path:
        # Kept across up/down so a host's key is stable and known_hosts entries stay valid.
        return self.base / "hostkeys" / name

    def _bridge_up(self) -> None:
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        # Where a system dockerd set FORWARD to DROP with br_netfilter on, bridged host-to-host
        # traffic would be dropped; allow it on our bridge only.
        rules = run("iptables", "-S", "FORWARD", check=False, quiet=True).stdout
        if "-P FORWARD DROP" in rules:
            run("iptables", "-I", "FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT")

    def _registry_up(self) -> int:
        import bcrypt

        reg = self.base / "registry"
        (reg / "data").mkdir(parents=True, exist_ok=True)
        # bcrypt cost 4: the registry checks the hash on every request (cost 10 costs ~90 ms each).
        digest = bcrypt.hashpw(REGISTRY_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        (reg / "htpasswd").write_text(f"{REGISTRY_USER}:{digest}\n")
        (reg / "config.yml").write_text(
            "version: 0.1\n"
            "log: {level: warn, fields: {service: registry}}\n"
            "storage:\n"
            "  cache: {blobdescriptor: inmemory}\n"
            f"  filesystem: {{rootdirectory: {reg / 'data'}}}\n"
            "  delete: {enabled: true}\n"
            f"http: {{addr: '{self.registry}', headers: {{X-Content-Type-Options: [nosniff]}}}}\n"
            f"auth: {{htpasswd: {{realm: basic-realm, path: {reg / 'htpasswd'}}}}}\n"
        )
        with (reg / "registry.log").open("ab") as out:
            proc = subprocess.Popen(
                ["/usr/bin/docker-registry", "serve", str(reg / "config.yml")],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (reg / "registry.pid").write_text(f"{proc.pid}\n")
        return proc.pid

    def _dns_up(self) -> None:
        dns = self.base / "dns"
        dns.mkdir(parents=True, exist_ok=True)
        with (dns / "dns.log").open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kamal_nb.testing.nxdns", f"{self.subnet}.1"],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (dns / "dns.pid").write_text(f"{proc.pid}\n")

    def _node_up(self, name: str, ip: str, *, with_sshd: bool) -> None:
        node = self.node_dir(name)
        for sub in ("root/.ssh", "run/sshd", "run/systemd/resolve", "var-lib-docker", "etc-docker", "etc-ssh", ".cg"):
            (node / sub).mkdir(parents=True, exist_ok=True)
        (node / "root").chmod(0o700)
        (node / "root/.ssh").chmod(0o700)
        shutil.copy(self.ssh_dir / "id_ed25519.pub", node / "root/.ssh/authorized_keys")
        keys = self._host_key_dir(name)
        keys.mkdir(parents=True, exist_ok=True)
        if not (keys / "ssh_host_ed25519_key").exists():
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "ssh_host_ed25519_key"))
        for key in keys.iterdir():
            shutil.copy2(key, node / "etc-ssh" / key.name)
        (node / "etc-docker/daemon.json").write_text(
            json.dumps(
                {
                    "insecure-registries": [self.registry],
                    "shutdown-timeout": 3,
                    # containers land in a cgroup named after the node: leftovers can be found by it
                    "cgroup-parent": f"/{self.netns(name)}",
                    # the per-node /run hides systemd's D-Bus socket that the systemd driver needs
                    "exec-opts": ["native.cgroupdriver=cgroupfs"],
                }
            )
        )
        # A resolver on the bridge where nothing listens: lookups fail at once and never leave.
        resolv = f"nameserver {self.subnet}.1\n"
        for path in ("resolv.conf", "run/systemd/resolve/stub-resolv.conf", "run/systemd/resolve/resolv.conf"):
            (node / path).write_text(resolv)
        (node / "etc-ssh/sshd_config").write_text(
            "Port 22\n"
            f"ListenAddress {ip}\n"
            "HostKey /etc/ssh/ssh_host_ed25519_key\n"
            "PidFile /run/sshd.pid\n"
            "AuthorizedKeysFile .ssh/authorized_keys\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "Subsystem sftp internal-sftp\n"
            "MaxStartups 100:30:200\n"
            "MaxSessions 100\n"
            # VERBOSE logs each session, which the benchmarks count
            "LogLevel VERBOSE\n"
        )
        init = node / "init.sh"
        init.write_text(self._init_script(name, node, with_sshd))
        init.chmod(0o755)
        ns = self.netns(name)
        veth = f"{self.prefix}v{name}"
        run("ip", "netns", "add", ns)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "link", "set", veth, "master", self.bridge, "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        # deliberately no default route: a node reaches the /24 and nothing else
        run("nsenter", f"--net=/run/netns/{ns}", "unshare", "--mount", "--uts", "--propagation", "private", str(init))

    @staticmethod
    def _init_script(name: str, node: Path, with_sshd: bool) -> str:
        # Runs inside the node's netns and new mount+UTS namespaces. `ip netns exec` is not used:
        # it remounts /sys without /sys/fs/cgroup, which dockerd needs.
        sshd = f"/usr/sbin/sshd -E {node}/sshd.log -f /etc/ssh/sshd_config\n" if with_sshd else ""
        return (
            "#!/bin/bash\n"
            "set -e\n"
            f"hostname {name}\n"
            f"mount --rbind /sys/fs/cgroup {node}/.cg\n"
            "umount -l /sys\n"
            "mount -t sysfs sysfs /sys\n"
            f"mount --rbind {node}/.cg /sys/fs/cgroup\n"
            f"umount -l {node}/.cg\n"
            "mkdir -p /var/lib/docker /etc/docker\n"
            f"mount --bind {node}/root /root\n"
            f"mount --bind {node}/run /run\n"
            f"mount --bind {node}/var-lib-docker /var/lib/docker\n"
            f"mount --bind {node}/etc-docker /etc/docker\n"
            f"mount --bind {node}/etc-ssh /etc/ssh\n"
            f"mount --bind {node}/resolv.conf /etc/resolv.conf\n"
            f"setsid /usr/sbin/dockerd > {node}/dockerd.log 2>&1 < /dev/null &\n"
            f"{sshd}"
        )

    def _registry_answers(self) -> bool:
        import base64
        import urllib.request

        request = urllib.request.Request(f"http://{self.registry}/v2/")
        token = base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _engine_answers(self, name: str) -> bool:
        import socket

        path = self.docker_socket(name).removeprefix("unix://")
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(path)
                sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                return b" 200 " in sock.recv(64)
        except OSError:
            return False

    @staticmethod
    def _port_open(ip: str, port: int) -> bool:
        import socket

        try:
            with socket.create_connection((ip, port), timeout=0.5):
                return True
        except OSError:
            return False

    # -- between tests ---------------------------------------------------------------------------

    def reset_hosts(self) -> None:
        """Give every host a clean slate: no containers, images, volumes, networks, ~/.kamal, login."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor() as pool:
            list(pool.map(self._reset_host, self.info().hosts))

    def _reset_host(self, host: FleetHost) -> None:
        import docker

        client = docker.DockerClient(base_url=host.docker_socket, timeout=60)
        try:
            for container in client.containers.list(all=True):
                container.remove(force=True, v=True)
            client.volumes.prune()
            client.networks.prune()
            for image in client.images.list(all=True):
                with contextlib.suppress(docker.errors.NotFound):
                    client.images.remove(str(image.id), force=True)
        finally:
            client.close()
        home = self.node_dir(host.name) / "root"
        shutil.rmtree(home / ".kamal", ignore_errors=True)
        shutil.rmtree(home / ".docker", ignore_errors=True)

    # -- faults, for the tests of what happens when hosts misbehave --------------------------------

    def stop_sshd(self, name: str) -> None:
        """Stop the host's sshd and every SSH session it serves (the host's own processes)."""
        listener = read_pid(self.node_dir(name) / "run/sshd.pid")
        sessions = [p for p in self._netns_pids(name) if program(p) == "sshd"]
        stop_pids([p for p in {listener, *sessions} if p])

    def start_sshd(self, name: str) -> None:
        """Start the host's sshd again, inside the host's namespaces (entered through its dockerd)."""
        dockerd = read_pid(self.node_dir(name) / "run/docker.pid")
        if dockerd is None:
            raise FleetError(f"{name}: dockerd is not running, so its namespaces cannot be entered")
        node = self.node_dir(name)
        run("nsenter", "-t", str(dockerd), "-m", "-n", "-u", "/usr/sbin/sshd", "-E", f"{node}/sshd.log")
        ip = next(h.ip for h in self.info().hosts if h.name == name)
        wait_until(f"sshd on {name}", functools.partial(self._port_open, ip, 22), 10, node / "sshd.log")

    def drop_ssh_packets(self, name: str, drop: bool = True) -> None:
        """Make the host stop answering on port 22 (packets dropped inside its namespace), or undo it."""
        rule = ["INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP"]
        netns = ["nsenter", f"--net=/run/netns/{self.netns(name)}", "iptables"]
        run(*netns, "-I" if drop else "-D", *rule)

    def stop_dockerd(self, name: str) -> None:
        """Stop the host's dockerd by its pid file (it stops its containers first, as on a real host)."""
        pid = read_pid(self.node_dir(name) / "run/docker.pid")
        if pid is None or not pid_alive(pid):
            raise FleetError(f"{name}: dockerd is not running")
        stop_pids([pid], timeout=30)
        wait_until(f"dockerd on {name} to stop", lambda: not self._engine_answers(name), 10)

    def start_dockerd(self, name: str) -> None:
        """Start the host's dockerd again inside the host's namespaces (entered through its sshd);
        containers with a restart policy come back as they do after a reboot."""
        node = self.node_dir(name)
        sshd = read_pid(node / "run/sshd.pid")
        if sshd is None or not pid_alive(sshd):
            raise FleetError(f"{name}: sshd is not running, so its namespaces cannot be entered")
        with (node / "dockerd.log").open("ab") as out:
            subprocess.Popen(
                ["nsenter", "-t", str(sshd), "-m", "-n", "-u", "/usr/sbin/dockerd"],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_until(f"dockerd on {name}", functools.partial(self._engine_answers, name), 30, node / "dockerd.log")

    def stop_registry(self) -> None:
        """Stop the fleet's registry by its pid file (pulls fail until start_registry)."""
        pid = read_pid(self.base / "registry/registry.pid")
        if pid is None or not pid_alive(pid):
            raise FleetError("the registry is not running")
        stop_pids([pid])
        wait_until("the registry to stop", lambda: not self._registry_answers(), 10)

    def start_registry(self) -> None:
        """Start the registry again on its data (the images pushed before are still there)."""
        self._registry_up()
        wait_until("the registry", self._registry_answers, 10, self.base / "registry/registry.log")

    def _netns_pids(self, name: str) -> list[int]:
        return [int(p) for p in run("ip", "netns", "pids", self.netns(name), check=False, quiet=True).stdout.split()]

    # -- down -----------------------------------------------------------------------------------

    def down(self) -> float:
        """Stop everything this fleet started; returns the seconds it took."""
        started = time.monotonic()
        self._remove_containers()
        pids: list[int] = []
        for name in self.recorded_nodes():
            node = self.node_dir(name)
            pids += [p for p in (read_pid(node / "run/sshd.pid"), read_pid(node / "run/docker.pid")) if p]
        pids += [p for p in map(read_pid, self._service_pidfiles()) if p]
        stop_pids(pids)
        self.clear_leftovers()
        elapsed = time.monotonic() - started
        log(f"down in {elapsed:.2f}s")
        return elapsed

    def _remove_containers(self) -> None:
        # SIGKILL the containers first, so that dockerd's shutdown does not wait out stop timeouts.
        for name in self.recorded_nodes():
            if self._engine_answers(name):
                sock = ["docker", "-H", self.docker_socket(name)]
                ids = run(*sock, "ps", "-aq", check=False, quiet=True).stdout.split()
                if ids:
                    run(*sock, "rm", "-f", *ids, check=False, quiet=True)

    def leftover_pids(self) -> list[int]:
        """Processes of this fleet still running, found without trusting pid files (a killed run may
        have lost them): those in its network namespaces, in its containers' cgroups, and its registry
        and DNS server, recognised by their command lines."""
        pids: set[int] = set()
        for ns in self._our_netns():
            pids.update(self._netns_pids(ns.removeprefix(self.prefix)))
        cgroup_marks = [f"/{self.prefix}{name}/" for name in self.recorded_nodes()]
        service_marks = [f"{self.base}/registry/config.yml", f"kamal_nb.testing.nxdns {self.subnet}.1"]
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cgroup = (proc / "cgroup").read_text()
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if any(mark in cgroup for mark in cgroup_marks) or any(mark in cmdline for mark in service_marks):
                pids.add(int(proc.name))
        return sorted(p for p in pids if pid_alive(p) and p != os.getpid())

    def _service_pidfiles(self) -> list[Path]:
        """Pid files of the fleet's processes in the root namespace: the registry and the DNS."""
        return [self.base / "registry/registry.pid", self.base / "dns/dns.pid"]

    def _our_veths(self) -> list[str]:
        links = run("ip", "-o", "link", "show", check=False, quiet=True).stdout.splitlines()
        names = [line.split(": ")[1].split("@")[0] for line in links if ": " in line]
        return [name for name in names if name.startswith(f"{self.prefix}v")]

    def _our_netns(self) -> list[str]:
        out = run("ip", "netns", "list", check=False, quiet=True).stdout
        return [line.split()[0] for line in out.splitlines() if line.startswith(self.prefix)]

    def clear_leftovers(self) -> None:
        """Clear whatever a killed earlier run left behind, so that `up` always starts clean."""
        stop_pids(self.leftover_pids(), timeout=5)
        for ns in self._our_netns():
            run("ip", "netns", "del", ns, check=False)
        links = run("ip", "-o", "link", "show", check=False, quiet=True).stdout
        if f": {self.bridge}:" in links:
            run("ip", "link", "del", self.bridge, check=False)
        while run("iptables", "-D", "FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT",
                  check=False, quiet=True).returncode == 0:  # fmt: skip
            pass
        # netns deletion is asynchronous: wait for our veths to go, so that `up` can follow at once.
        # A namespace outlives its processes while its sockets wait out their timers (a host whose
        # packets were dropped, say); its veth is then deleted from our end, which removes the pair.
        try:
            wait_until("the fleet's veth links to disappear", lambda: not self._our_veths(), 3)
        except FleetError:
            for veth in self._our_veths():
                run("ip", "link", "del", veth, check=False)
            wait_until("the fleet's veth links to disappear", lambda: not self._our_veths(), 10)
        for mount in self._mounts_under_base():
            run("umount", "-l", mount, check=False)
        for name in self.recorded_nodes():  # fresh engines and homes on every up; host keys stay
            shutil.rmtree(self.node_dir(name), ignore_errors=True)
        for stale in (*self._service_pidfiles(), self.base / "fleet.json"):
            stale.unlink(missing_ok=True)
        shutil.rmtree(self.base / "registry/data", ignore_errors=True)

    def _mounts_under_base(self) -> list[str]:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        targets = [line.split()[1] for line in mounts]
        return sorted((t for t in targets if t.startswith(f"{self.base}/")), key=len, reverse=True)


def numbered_fleet(base: Path | str | None = None, number: str | None = None) -> Fleet:
    """The fleet ``./dev`` works on: the default one (10.200.0.0/24, ``./.fleet``), or with
    ``KAMAL_NB_FLEET_NUMBER=N`` (0-9) fleet N: 10.22N.0.0/24, names ``dN-``, ``./.fleet/demoN``.
    (The test suite's fleets are 10.201.0.0/24 and 10.21N.0.0/24: a numbered fleet never meets them.)"""
    number = os.environ.get("KAMAL_NB_FLEET_NUMBER", "") if number is None else number
    if not number:
        return Fleet(base)
    if not (number.isdigit() and len(number) == 1):
        raise FleetError(f"KAMAL_NB_FLEET_NUMBER={number!r}: a fleet number is one digit, 0 to 9")
    default_base = os.environ.get("KAMAL_NB_FLEET_BASE") or Path.cwd() / ".fleet" / f"demo{number}"
    return Fleet(base or default_base, prefix=f"d{number}-", bridge=f"d{number}br0", subnet=f"10.22{number}.0")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kamal_nb.testing.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="where the fleet keeps its files (default: ./.fleet or $KAMAL_NB_FLEET_BASE)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="bring up a fleet of N hosts (clears any earlier one first)")
    up.add_argument("hosts", nargs="?", type=int, default=3)
    sub.add_parser("down", help="stop everything the fleet started")
    sub.add_parser("status", help="print the recorded layout as JSON")
    sub.add_parser("show", help="reach every host over SSH and show what it runs, as a table")
    sub.add_parser("install", help="install the Debian packages the fleet needs, when missing")
    args = parser.parse_args(argv)
    try:
        fleet = numbered_fleet(args.base)
        if args.command == "up":
            info = fleet.up(args.hosts)
            print(json.dumps(asdict(info), indent=2))
        elif args.command == "down":
            fleet.down()
        elif args.command == "install":
            install_packages()
        elif args.command == "show":
            print(show(fleet.info()))
        else:
            print((fleet.base / "fleet.json").read_text(), end="")
    except (FleetError, FileNotFoundError) as error:
        print(f"fleet: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
