#!/usr/bin/env python3
"""Prints the proxy.yaml reference (markdown) from the XML doc comments in ProxyOptions.cs.

The options model is the single source of truth: docs/configuration.md's reference table is this output.
Usage: python3 scripts/config-reference.py > /tmp/ref.md
"""
import re, sys, pathlib

src = pathlib.Path(__file__).resolve().parent.parent / "src/RpcShield/Configuration/ProxyOptions.cs"
text = src.read_text()

def snake(name):
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()

classes = {}
for m in re.finditer(r"public sealed (?:class|record) (\w+)\s*\{(.*?)\n\}", text, re.S):
    props, doc = [], []
    for line in m.group(2).splitlines():
        s = line.strip()
        if s.startswith("///"):
            doc.append(re.sub(r"</?summary>|<see cref=\"([^\"]+)\"\s*/>", lambda g: g.group(1) or "", s[3:].strip()))
            continue
        p = re.match(r"public ([\w<>?,\s\[\]]+?) (\w+) \{ get; (?:set|init); \}(?: = (.*);)?", s)
        if p:
            props.append((p.group(2), p.group(1), (p.group(3) or "").strip(), " ".join(d for d in doc if d).strip()))
        if s and not s.startswith("///"):
            doc = []
    classes[m.group(1)] = props

def walk(cls, prefix, out):
    for name, typ, default, doc in classes.get(cls, []):
        key = f"{prefix}{snake(name)}"
        inner = re.sub(r"\?$", "", typ)
        lst = re.match(r"List<(\w+)>", inner)
        if inner in classes:
            out.append((key, "section", "", doc))
            walk(inner, key + ".", out)
        elif lst and lst.group(1) in classes:
            out.append((key + "[]", "list", "", doc))
            walk(lst.group(1), key + "[].", out)
        else:
            out.append((key, inner.replace("TimeSpan", "duration"), default, doc))

rows = []
walk("ProxyOptions", "", rows)
print("| key | type | default | meaning |")
print("|---|---|---|---|")
for key, typ, default, doc in rows:
    if typ in ("section", "list"):
        print(f"| **`{key}`** | {typ} | | {doc} |")
    else:
        d = re.sub(r"TimeSpan\.From(Seconds|Milliseconds|Minutes|Hours)\(([\d.]+)\)",
                   lambda g: g.group(2) + {"Seconds": "s", "Milliseconds": "ms", "Minutes": "m", "Hours": "h"}[g.group(1)], default)
        d = d.replace("TimeSpan.Zero", "0").replace("|", "\\|")
        print(f"| `{key}` | {typ.replace('<', '&lt;').replace('>', '&gt;')} | `{d}` | {doc.replace('|', '/')} |" if d else f"| `{key}` | {typ.replace('<', '&lt;').replace('>', '&gt;')} | | {doc.replace('|', '/')} |")
