#!/usr/bin/env python3
"""Rewrites the "## Expectations" block of every docs/scenarios page from the scenarios' specs
(faultline list --json), so the pages say what the code expects. tests/docs checks they do.

usage: scripts/update-expectation-docs.py [FAULTLINE]   (default build/release/faultline)
"""
import json
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
faultline = sys.argv[1] if len(sys.argv) > 1 else str(root / "build/release/faultline")
specs = json.loads(subprocess.run([faultline, "list", "--json"], check=True,
                                  capture_output=True, text=True).stdout)
for spec in specs:
    page = root / "docs" / "scenarios" / f"{spec['id']}.md"
    if not page.exists():
        continue
    lines = "\n".join(e["text"] for e in spec["expectations"])
    block = ("## Expectations\n\nWhat each variant must show in each build, as the scenario's "
             f"spec states it (`faultline list {spec['id']}`); the driver judges every run "
             "against it (docs/record-schema.md, \"Verdicts\"):\n\n```\n" + lines + "\n```\n")
    text = page.read_text()
    if "## Expectations\n" in text:
        text = re.sub(r"## Expectations\n.*?```\n.*?```\n", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    page.write_text(text)
    print(f"{page.relative_to(root)}: {len(spec['expectations'])} expectations")
