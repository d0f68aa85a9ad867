#!/usr/bin/env bash
# Replay benchmark: `earshot score` (whole path: JSON in, language,
# relevance, sentiment, rules, risk, JSON out; one thread) over 100,000
# mixed English/Indonesian tweet-length posts, beside Python vaderSentiment
# (English sentiment only) on the same texts. Prints both rates and their
# ratio, and earshot's peak memory.
#
#   bash benches/replay.sh [N]
#
# Texts come from ../shared/data when it is there (SmSA, NusaX English, NHS
# comments, cut to 280 characters), else from fixtures/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
work="target/bench"
mkdir -p "$work"

cargo build --release --locked -q
if [[ ! -x "$work/venv/bin/python" ]]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q vaderSentiment==3.3.2
fi

python3 - "$N" "$work/posts.jsonl" <<'PY'
import csv, json, os, random, sys
n, out = int(sys.argv[1]), sys.argv[2]
random.seed(20261125)
data = "../shared/data"
en, idn = [], []
if os.path.isdir(data):
    idn = [l.rsplit("\t", 1)[0] for l in open(f"{data}/smsa/train.tsv", encoding="utf-8") if "\t" in l]
    en = [r["text"] for r in csv.DictReader(open(f"{data}/nusax/english/train.csv", encoding="utf-8"))]
    en += [r["FFT answer"] for r in csv.DictReader(open(f"{data}/nhs/v6framework_230831.csv", encoding="utf-8")) if r["FFT answer"].strip()]
else:
    for l in open("fixtures/demo/stream.jsonl", encoding="utf-8"):
        try:
            p = json.loads(l)
        except ValueError:
            continue
        (idn if p.get("channel") == "email" or " yang " in p["text"] else en).append(p["text"])
with open(out, "w", encoding="utf-8") as f:
    for i in range(n):
        text = random.choice(en if i % 2 == 0 else idn)[:280]
        f.write(json.dumps({"id": str(i), "text": text, "followers": random.randint(0, 5000)}) + "\n")
PY

rss=$( { /usr/bin/time -f "%M" ./target/release/earshot score < "$work/posts.jsonl" > /dev/null; } 2>&1 | tail -1)
earshot_s=$(python3 - "$work/posts.jsonl" <<'PY'
import subprocess, sys, time
best = None
for _ in range(5):
    with open(sys.argv[1], "rb") as f:
        t = time.perf_counter()
        subprocess.run(["./target/release/earshot", "score"], stdin=f, stdout=subprocess.DEVNULL, check=True)
        d = time.perf_counter() - t
    best = d if best is None else min(best, d)
print(best)
PY
)
vader_s=$("$work/venv/bin/python" - "$work/posts.jsonl" <<'PY'
import json, sys, time
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
a = SentimentIntensityAnalyzer()
t = time.perf_counter()
for x in texts:
    a.polarity_scores(x)
print(time.perf_counter() - t)
PY
)
python3 - "$N" "$earshot_s" "$vader_s" "$rss" <<'PY'
import sys
n, e, v, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"posts:                      {n}")
print(f"earshot score (whole path): {n / e:>10,.0f} posts/s  ({e:.2f} s, peak RSS {rss / 1024:.1f} MiB)")
print(f"python vaderSentiment:      {n / v:>10,.0f} posts/s  ({v:.2f} s, sentiment only)")
print(f"ratio earshot / vader:      {v / e:>10.1f}x")
PY
