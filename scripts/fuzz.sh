#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/fuzz_targets/) with seeds made from this repository:
#   scripts/fuzz.sh [TARGET|all] [SECONDS]      default: all, 900 s per target
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Seeds are written
# under fuzz/corpus/<target> (git-ignored); findings land in fuzz/artifacts/<target>.
# Targets: detect_render (detector + every renderer, no-raw-secret oracle), config_parse
# (leakhound.toml, gitleaks import, .gitleaksignore), rules_parse (rule files, TOML and YAML,
# with the lint), baseline_parse, archive_expand, verify_answers (what providers and database
# servers answer --verify: never a panic, never the credential in a report).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
secs=${2:-900}
targets=(detect_render config_parse rules_parse baseline_parse archive_expand verify_answers)
[ "$target" = all ] || targets=("$target")

seed() {
  local t=$1 dir=fuzz/corpus/$1
  mkdir -p "$dir"
  case "$t" in
    detect_render)
      cp fixtures/demo/* fixtures/demo/.[!.]* "$dir"/ 2>/dev/null || true
      # Every rule's examples, one file each: the detector's known shapes.
      python3 - "$dir" <<'PY'
import pathlib, sys, tomllib
out = pathlib.Path(sys.argv[1])
for f in sorted(pathlib.Path("rules").glob("*.toml")):
    for i, r in enumerate(tomllib.loads(f.read_text()).get("rule", [])):
        ex = r.get("examples", {})
        texts = [e if isinstance(e, str) else e.get("text", "") for e in ex.get("positive", [])]
        texts += ex.get("negative", [])
        (out / f"{f.stem}-{i}.txt").write_text("\n".join(texts) + "\n")
PY
      ;;
    config_parse)
      cp src/starter.toml .ci/leakhound.toml "$dir"/
      find tests -name '*.toml' -path '*cmd*' -exec cp {} "$dir"/ \; ;;
    rules_parse)
      cp rules/github.toml rules/aws.toml rules/generic.toml "$dir"/
      find tests -name '*.yaml' -o -name '*.yml' | while read -r f; do cp "$f" "$dir"/; done ;;
    archive_expand)
      # One small archive of each kind, nested and with a name that leaves the archive.
      python3 - "$dir" <<'PY'
import bz2, gzip, io, lzma, pathlib, sys, tarfile, zipfile
out = pathlib.Path(sys.argv[1])
z = io.BytesIO()
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
    zf.writestr("a/b.txt", b"key=value\n" * 3)
    zf.writestr("../up.txt", b"x\n")
t = io.BytesIO()
with tarfile.open(fileobj=t, mode="w") as tf:
    for name, data in (("dir/f.env", b"TOKEN=abc\n"), ("inner.zip", z.getvalue())):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
tar = t.getvalue()
for name, data in (("zip", z.getvalue()), ("tar", tar), ("tgz", gzip.compress(tar)),
                   ("tbz", bz2.compress(tar)), ("txz", lzma.compress(tar)),
                   ("gz", gzip.compress(b"hello world\n"))):
    (out / name).write_bytes(data)
PY
      ;;
    verify_answers)
      # The first byte picks the target (0 HTTP, 1 PostgreSQL, 2 MySQL, 3 MongoDB, 4 Redis).
      printf '\000\000\310x-scope, repo\n{"login":"octo","ok":true,"result":{"status":"active"}}' >"$dir/http"
      printf '\001N' >"$dir/pg"
      printf '\004+OK\r\n$3\r\napp\r\n+OK\r\n' >"$dir/redis" ;;
    baseline_parse)
      printf '# leakhound baseline\n0123456789abcdef0123456789abcdef github.pat_classic path=a%%20b.env expires=2030-01-01 # note\n' >"$dir/one" ;;
  esac
}

for t in "${targets[@]}"; do
  seed "$t"
  echo "==> fuzz $t for ${secs}s"
  cargo +nightly fuzz run -O "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=4096 -max_len=65536 -timeout=30 -print_final_stats=1
done
