#!/usr/bin/env python3
"""Runs action.yml's composite steps the way a GitHub runner does, on this machine, and checks
what a user would see. A small runner: `${{ }}` expressions (inputs, github, runner, steps,
always(), success(), ==, !=, &&, ||, !), `if:`, `continue-on-error`, step outputs through
GITHUB_OUTPUT, GITHUB_PATH and GITHUB_STEP_SUMMARY, and stand-ins for the `uses:` steps:
actions/cache (a directory per key, saved after the job), actions/cache/restore (exact key,
else the newest entry whose key starts with a restore key), actions/cache/save,
github/codeql-action/upload-sarif
(succeeds or fails on request) and actions/upload-artifact (copies the files).

The release the Action downloads is served from localhost, made from LEAKHOUND_BIN the way the
release workflow lays it out. Scenarios: a push that adds a secret with code scanning
unavailable (the upload fails: a notice, the reports kept as an artifact, the job fails on the
finding); the same push again (the binary comes from the cache); a clean push with code
scanning (no artifact, the job passes).

    scripts/action/test-action.py [LEAKHOUND_BIN]     (default: target/release/leakhound)

Prints `action-sim: N passed, M failed` and the step times. Needs PyYAML (`pip install pyyaml`).
"""

import http.server
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import hashlib

import yaml

HERE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- expressions -------------------------------------------------------------------------

TOKEN = re.compile(r"\s*(?:(==|!=|&&|\|\||!|\(|\)|,)|'((?:[^']|'')*)'|([A-Za-z_][A-Za-z0-9_.\-]*))")


def tokens(text):
    pos, out = 0, []
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot parse expression at {text[pos:]!r}")
        op, string, ident = m.groups()
        out.append(("op", op) if op else ("str", string.replace("''", "'")) if string is not None else ("id", ident))
        pos = m.end()
    return out


class Expr:
    """Recursive descent over: or := and ('||' and)*; and := not ('&&' not)*;
    not := '!' not | cmp; cmp := atom (('=='|'!=') atom)?; atom := literal | call | path | (or)."""

    def __init__(self, text, ctx):
        self.t, self.i, self.ctx = tokens(text), 0, ctx

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self):
        v = self.or_()
        if self.i != len(self.t):
            raise ValueError(f"trailing tokens in expression: {self.t[self.i:]}")
        return v

    def or_(self):
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            r = self.and_()
            v = v if truthy(v) else r
        return v

    def and_(self):
        v = self.not_()
        while self.peek() == ("op", "&&"):
            self.take()
            r = self.not_()
            v = r if truthy(v) else v
        return v

    def not_(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.not_())
        return self.cmp()

    def cmp(self):
        v = self.atom()
        if self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            r = self.atom()
            eq = loose(v) == loose(r)
            return eq if op == "==" else not eq
        return v

    def atom(self):
        kind, val = self.take()
        if kind == "str":
            return val
        if kind == "op" and val == "(":
            v = self.or_()
            assert self.take() == ("op", ")")
            return v
        if kind == "id":
            if val in ("true", "false"):
                return val == "true"
            if val == "null":
                return None
            if self.peek() == ("op", "("):
                self.take()
                args = []
                while self.peek() != ("op", ")"):
                    args.append(self.or_())
                    if self.peek() == ("op", ","):
                        self.take()
                self.take()
                return self.call(val, args)
            return self.lookup(val)
        raise ValueError(f"unexpected token {kind} {val!r}")

    def call(self, name, args):
        if name == "always":
            return True
        if name == "success":
            return not self.ctx["_failed"]
        if name == "failure":
            return self.ctx["_failed"]
        if name == "format":
            return re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1)) + 1]), args[0])
        raise ValueError(f"function {name} is not simulated")

    def lookup(self, path):
        cur = self.ctx
        for part in path.split("."):
            if isinstance(cur, dict):
                cur = cur.get(part)
            else:
                return None
        return cur


def truthy(v):
    return v not in (None, False, "", 0)


def loose(v):
    return "" if v is None else str(v).lower() if isinstance(v, bool) else v


def interpolate(text, ctx):
    def one(m):
        v = Expr(m.group(1), ctx).parse()
        return "" if v is None else ("true" if v is True else "false" if v is False else str(v))

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))


def condition(text, ctx):
    if text is None:
        return not ctx["_failed"]
    text = str(text).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    expr = m.group(1) if m else text
    if "always()" not in expr and "failure()" not in expr and ctx["_failed"]:
        return False
    return truthy(Expr(expr, ctx).parse())


# ---- the runner ------------------------------------------------------------------------


def read_kv(path):
    out = {}
    if not os.path.exists(path):
        return out
    text = open(path).read()
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delim = line.split("<<", 1)
            value = []
            for more in lines:
                if more == delim:
                    break
                value.append(more)
            out[name] = "\n".join(value)
        elif "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


class Job:
    def __init__(self, root, action_dir, workspace, inputs, github, upload_fails):
        self.root, self.action_dir, self.workspace = root, action_dir, workspace
        spec = yaml.safe_load(open(os.path.join(action_dir, "action.yml")))
        self.spec = spec
        defaults = {k: str(v.get("default", "")) for k, v in spec.get("inputs", {}).items()}
        defaults.update(inputs)
        self.ctx = {
            "inputs": defaults,
            "github": dict(github, action_path=action_dir, workspace=workspace),
            "runner": {"os": "Linux", "arch": "X64", "temp": os.path.join(root, "runner-temp")},
            "steps": {},
            "_failed": False,
        }
        os.makedirs(self.ctx["runner"]["temp"], exist_ok=True)
        self.upload_fails = upload_fails
        self.path_dirs = []
        self.log = []
        self.summary = os.path.join(root, "summary.md")
        self.artifacts = os.path.join(root, "artifacts")
        self.caches = os.path.join(os.path.dirname(root), "cache-store")
        self.post = []
        self.times = []
        self.exit_code = 0

    def run(self):
        for step in self.spec["runs"]["steps"]:
            name = step.get("name", step.get("uses", step.get("id")))
            if not condition(step.get("if"), self.ctx):
                self.record(step, "skipped", {})
                continue
            t0 = time.time()
            try:
                if "uses" in step:
                    ok, outputs = self.uses(step)
                else:
                    ok, outputs = self.shell(step)
            except subprocess.CalledProcessError:
                ok, outputs = False, {}
            self.times.append((name, time.time() - t0))
            outcome = "success" if ok else "failure"
            self.record(step, outcome, outputs)
            if not ok and not step.get("continue-on-error"):
                self.ctx["_failed"] = True
        for fn in self.post:
            fn()
        self.outputs = {
            k: interpolate(v["value"], self.ctx) for k, v in self.spec.get("outputs", {}).items()
        }
        return not self.ctx["_failed"]

    def record(self, step, outcome, outputs):
        if "id" in step:
            self.ctx["steps"][step["id"]] = {"outcome": outcome, "outputs": outputs}

    def shell(self, step):
        files = {n: os.path.join(self.root, f"{n}.{len(self.log)}") for n in ("output", "path", "env")}
        for f in files.values():
            open(f, "w").close()
        env = {
            "PATH": os.pathsep.join(self.path_dirs + [os.environ["PATH"]]),
            "HOME": os.environ.get("HOME", "/tmp"),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_TEMP": self.ctx["runner"]["temp"],
            "GITHUB_OUTPUT": files["output"],
            "GITHUB_PATH": files["path"],
            "GITHUB_ENV": files["env"],
            "GITHUB_STEP_SUMMARY": self.summary,
            "GITHUB_WORKSPACE": self.workspace,
            "CI": "true",
        }
        if os.environ.get("RELEASE_URL"):
            env["RELEASE_URL"] = os.environ["RELEASE_URL"]
        for k, v in (step.get("env") or {}).items():
            env[k] = interpolate(v, self.ctx)
        cwd = os.path.join(self.workspace, interpolate(step.get("working-directory", "."), self.ctx))
        script = interpolate(step["run"], self.ctx)
        p = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
        self.log.append((step.get("name"), p.returncode, p.stdout + p.stderr))
        for line in open(files["path"]).read().splitlines():
            if line.strip():
                self.path_dirs.insert(0, line.strip())
        return p.returncode == 0, read_kv(files["output"])

    def uses(self, step):
        uses = step["uses"]
        w = {k: interpolate(v, self.ctx) for k, v in (step.get("with") or {}).items()}
        if uses.startswith("actions/cache@"):
            key, path = w["key"], w["path"]
            store = os.path.join(self.caches, hashlib.sha256(key.encode()).hexdigest())
            hit = os.path.isdir(store)
            if hit:
                shutil.copytree(store, path, dirs_exist_ok=True)
            else:
                self.post.append(lambda: os.path.isdir(path) and shutil.copytree(path, store))
            self.log.append((step.get("name"), 0, f"cache {'hit' if hit else 'miss'} for {key}"))
            return True, {"cache-hit": "true" if hit else "false"}
        if uses.startswith("actions/cache/restore@"):
            key, path = w["key"], w["path"]
            prefixes = [k.strip() for k in w.get("restore-keys", "").splitlines() if k.strip()]
            entries = []
            if os.path.isdir(self.caches):
                for name in os.listdir(self.caches):
                    if name.endswith(".key"):
                        k = open(os.path.join(self.caches, name)).read()
                        store = os.path.join(self.caches, name[:-4])
                        entries.append((os.path.getmtime(store), k, store))
            exact = [e for e in entries if e[1] == key]
            near = sorted((e for e in entries if any(e[1].startswith(p) for p in prefixes)), reverse=True)
            found = (exact or near or [None])[0]
            if found:
                shutil.copytree(found[2], path, dirs_exist_ok=True)
            self.log.append((step.get("name"), 0, f"cache restore {'hit ' + found[1] if found else 'miss'} for {key}"))
            return True, {"cache-hit": "true" if exact else "false"}
        if uses.startswith("actions/cache/save@"):
            key, path = w["key"], w["path"]
            store = os.path.join(self.caches, hashlib.sha256(key.encode()).hexdigest())
            if os.path.isdir(path) and not os.path.isdir(store):
                shutil.copytree(path, store)
                open(store + ".key", "w").write(key)
            self.log.append((step.get("name"), 0, f"cache save {key}"))
            return True, {}
        if uses.startswith("github/codeql-action/upload-sarif@"):
            ok = not self.upload_fails and os.path.isfile(w["sarif_file"])
            self.log.append((step.get("name"), 0 if ok else 1, "upload " + ("ok" if ok else "failed: code scanning is not enabled")))
            return ok, {}
        if uses.startswith("actions/upload-artifact@"):
            dest = os.path.join(self.artifacts, w["name"])
            os.makedirs(dest, exist_ok=True)
            for f in w["path"].split("\n"):
                if f.strip() and os.path.isfile(f.strip()):
                    shutil.copy(f.strip(), dest)
            self.log.append((step.get("name"), 0, f"artifact {w['name']}: {sorted(os.listdir(dest))}"))
            return True, {}
        raise ValueError(f"{uses} is not simulated")

    def text(self):
        return "\n".join(f"--- {n} (exit {c})\n{o}" for n, c, o in self.log)


# ---- scenarios ---------------------------------------------------------------------------


def sh(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "target/release/leakhound"))
    if not os.access(binary, os.X_OK):
        print(f"no leakhound binary at {binary} (cargo build --release)")
        return 2
    tmp = tempfile.mkdtemp()
    passed = failed = 0

    def check(name, ok, job=None):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name}")
            if job:
                print("     " + job.text().replace("\n", "\n     ")[-3000:])

    version = re.search(r'^version = "(.*)"$', open(os.path.join(HERE, "Cargo.toml")).read(), re.M).group(1)
    target = "x86_64-unknown-linux-musl"

    # The Action as GitHub checks it out (what the cache key digests, and the scripts).
    action = os.path.join(tmp, "action")
    os.makedirs(os.path.join(action, "scripts"))
    for f in ("action.yml", "Cargo.toml", "Cargo.lock", "build.rs"):
        shutil.copy(os.path.join(HERE, f), action)
    for d in ("src", "rules"):
        shutil.copytree(os.path.join(HERE, d), os.path.join(action, d))
    for d in ("action", "lib"):
        shutil.copytree(os.path.join(HERE, "scripts", d), os.path.join(action, "scripts", d))

    # The release, served from localhost (the Action's install honours RELEASE_URL).
    rel = os.path.join(tmp, "releases", f"v{version}")
    inner = os.path.join(rel, f"leakhound-{target}")
    os.makedirs(inner)
    shutil.copy(binary, os.path.join(inner, "leakhound"))
    archive = os.path.join(rel, f"leakhound-{target}.tar.xz")
    with tarfile.open(archive, "w:xz") as t:
        t.add(inner, arcname=f"leakhound-{target}")
    shutil.rmtree(inner)
    digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    open(archive + ".sha256", "w").write(f"{digest} *leakhound-{target}.tar.xz\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    handler = lambda *a, **k: Quiet(*a, directory=os.path.join(tmp, "releases"), **k)
    server = socketserver.TCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["RELEASE_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
    # No gh here: the attestation check says it was not done; the sha256 check always runs.

    # The repository being scanned: a clean commit, then one that adds a synthetic token.
    ws = os.path.join(tmp, "workspace")
    os.makedirs(ws)
    git = lambda *a: sh("git", *a, cwd=ws)
    git("init", "-q", "-b", "main")
    git("config", "user.name", "Dev")
    git("config", "user.email", "dev@corp.test")
    open(os.path.join(ws, "README.md"), "w").write("# service\n")
    git("add", ".")
    git("commit", "-qm", "init")
    clean = git("rev-parse", "HEAD")
    token = sh(sys.executable, os.path.join(HERE, "scripts/lib/synthetic-token.py"), "41")
    open(os.path.join(ws, "deploy.env"), "w").write(f"GITHUB_TOKEN={token}\n")
    git("add", ".")
    git("commit", "-qm", "add deploy settings")
    leak = git("rev-parse", "HEAD")

    runs = [0]

    def job(name, before, after, upload_fails, inputs=None, event="push"):
        root = os.path.join(tmp, name)
        os.makedirs(root)
        runs[0] += 1
        github = {
            "event_name": event,
            "event": {"before": before, "after": after} if event == "push" else {},
            "ref": "refs/heads/main",
            "run_id": str(1000 + runs[0]),
            "action_repository": "leakhound/leakhound",
            "token": "",
        }
        j = Job(root, action, ws, inputs or {}, github, upload_fails)
        ok = j.run()
        return j, ok

    # 1. A push that adds a secret, in a repository without code scanning.
    j, ok = job("push-leak", clean, leak, upload_fails=True)
    out = j.outputs
    check("the job fails on the finding", not ok, j)
    check("outputs: findings=1, exit-code=1", out.get("findings") == "1" and out.get("exit-code") == "1", j)
    install = j.ctx["steps"].get("install", {})
    check("the binary came from the release (downloaded, sha256 verified)",
          install.get("outputs", {}).get("how") == "release" and "verified" in j.text(), j)
    check("one scan wrote both reports (SARIF and JSON exist)",
          os.path.isfile(out.get("sarif-file", "")) and os.path.isfile(out.get("json-file", "")), j)
    check("the failed SARIF upload is a notice, not the failure",
          "::notice title=leakhound::The SARIF upload to code scanning failed" in j.text()
          and j.ctx["steps"]["upload"]["outcome"] == "failure", j)
    art = os.path.join(j.artifacts, "leakhound-reports")
    check("the reports are kept as an artifact",
          os.path.isdir(art) and sorted(os.listdir(art)) == ["leakhound.json", "leakhound.sarif"], j)
    summary = open(j.summary).read() if os.path.exists(j.summary) else ""
    plain = summary.replace("\\", "")  # Markdown escapes in the table cells
    check("the job summary lists the finding, redacted",
          "deploy.env" in plain and "github.pat_classic" in plain and token not in plain, j)
    check("nothing leaks the token into the log", token not in j.text(), j)
    check("the log has the findings as text and what to do",
          "github.pat_classic" in j.text() and "rotating is the fix" in j.text(), j)
    check("the reports are not in the checkout", not out.get("sarif-file", "").startswith(ws), j)
    t_first = dict(j.times)

    # 2. The same push again: the cache holds the binary.
    j, ok = job("push-leak-again", clean, leak, upload_fails=True)
    check("a second run takes the binary from the cache",
          j.ctx["steps"]["install"]["outputs"].get("how") == "cache" and j.outputs.get("findings") == "1", j)
    t_second = dict(j.times)

    # 3. A clean push with code scanning available: no artifact, the job passes.
    git("commit", "-q", "--allow-empty", "-m", "docs")
    head = git("rev-parse", "HEAD")
    j, ok = job("push-clean", leak, head, upload_fails=False)
    check("a clean push passes with findings=0", ok and j.outputs.get("findings") == "0", j)
    j_push = j
    check("with code scanning available no artifact is made", not os.path.isdir(j.artifacts), j)

    # 4. Nightly full-history runs: the second continues from the first one's history cache.
    j, ok = job("nightly-1", "", "", upload_fails=False, event="schedule")
    check("a scheduled run scans the full history and finds the secret",
          j.outputs.get("findings") == "1" and "cache restore miss" in j.text()
          and ": new;" in j.text(), j)
    j, ok = job("nightly-2", "", "", upload_fails=False, event="schedule")
    check("the next scheduled run resumes from the restored history cache, same findings",
          j.outputs.get("findings") == "1" and "cache restore hit leakhound-history-refs/heads/main-" in j.text()
          and ": resumed;" in j.text(), j)
    check("a push (a range) skips the history cache",
          not any("history cache" in (n or "") for n, _, _ in j_push.log), j_push)

    server.shutdown()
    print("\naction-sim step times (first run / cached run):")
    for name in t_first:
        print(f"  {name:<40} {t_first[name]:6.2f} s / {t_second.get(name, 0):6.2f} s")
    print(f"action-sim: {passed} passed, {failed} failed")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
