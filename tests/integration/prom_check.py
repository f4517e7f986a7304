"""A strict reader of Prometheus text exposition format 0.0.4, for the
/metrics tests: Debian's prometheus_client parser checks the syntax, and
check() below adds what that parser lets pass (one TYPE per family, before
its samples, families not interleaved, counter names ending in _total,
histogram buckets cumulative with +Inf equal to _count)."""
import math
import re

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class FormatError(AssertionError):
    pass


def _labels(text):
    out, pos = {}, 0
    while pos < len(text):
        m = LABEL_PAIR.match(text, pos)
        if not m:
            raise FormatError("bad labels: %r" % text)
        name = m.group(1)
        if name in out:
            raise FormatError("label %s twice in %r" % (name, text))
        out[name] = re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), m.group(2))
        pos = m.end()
    return out


def _family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; raises FormatError."""
    if not text.endswith("\n"):
        raise FormatError("the text must end with a newline")
    families, types, order = {}, {}, []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not NAME.match(parts[2]):
                raise FormatError("line %d: %r" % (n, line))
            fam = families.setdefault(parts[2], {"type": None, "help": None, "samples": []})
            if fam["samples"]:
                raise FormatError("line %d: %s after its samples" % (n, parts[1]))
            key = parts[1].lower()
            if fam[key] is not None:
                raise FormatError("line %d: second %s for %s" % (n, parts[1], parts[2]))
            if key == "type":
                if parts[3] not in TYPES:
                    raise FormatError("line %d: unknown type %r" % (n, parts[3]))
                types[parts[2]] = parts[3]
            fam[key] = parts[3]
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise FormatError("line %d: not a sample: %r" % (n, line))
        name, labels, value = m.group(1), _labels(m.group(3) or ""), float(m.group(4))
        base = _family_of(name, types)
        if base not in families or families[base]["type"] is None:
            raise FormatError("line %d: %s has no TYPE before it" % (n, name))
        if order and order[-1] != base and base in order:
            raise FormatError("line %d: family %s interleaved with another" % (n, base))
        if not order or order[-1] != base:
            order.append(base)
        families[base]["samples"].append((name, labels, value))
    for name, fam in families.items():
        _check_family(name, fam)
    # And the reference parser must read it all the same way.
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    for name, fam in families.items():
        ref = parsed.get(name[:-len("_total")] if fam["type"] == "counter" else name)
        if ref is None or ref.type != fam["type"]:
            raise FormatError("prometheus_client reads %s differently: %r" % (name, ref))
    return families


def _check_family(name, fam):
    if fam["help"] is None:
        raise FormatError("%s has no HELP" % name)
    if fam["type"] == "counter" and not name.endswith("_total"):
        raise FormatError("counter %s does not end in _total" % name)
    for _, _, value in fam["samples"]:
        if fam["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise FormatError("counter %s has value %r" % (name, value))
    if fam["type"] == "histogram":
        _check_histogram(name, fam["samples"])


def _check_histogram(name, samples):
    series = {}
    for sname, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            s["buckets"].append((float(labels["le"]), value))
        elif sname == name + "_sum":
            s["sum"] = value
        elif sname == name + "_count":
            s["count"] = value
    for key, s in series.items():
        les = [le for le, _ in s["buckets"]]
        counts = [c for _, c in s["buckets"]]
        if not les or les[-1] != math.inf or les != sorted(les):
            raise FormatError("%s%r: le not ascending up to +Inf: %r" % (name, key, les))
        if counts != sorted(counts):
            raise FormatError("%s%r: buckets not cumulative: %r" % (name, key, counts))
        if s["count"] != counts[-1] or s["sum"] is None:
            raise FormatError("%s%r: _count %r != +Inf bucket %r" % (name, key, s["count"], counts[-1]))


def value(families, name, **labels):
    """The value of the one sample `name` whose labels include `labels`."""
    fam = families[_family_of(name, {n: f["type"] for n, f in families.items()})]
    hits = [v for n, ls, v in fam["samples"]
            if n == name and all(ls.get(k) == str(x) for k, x in labels.items())]
    if len(hits) != 1:
        raise KeyError("%s%r: %d samples" % (name, labels, len(hits)))
    return hits[0]
