#!/usr/bin/env python3
"""The class report's numbers, computed again from the NAME.json files with Python's
standard library alone, and compared with stats.json and with the page's DOM as
headless Chromium built it (grader/tests/class_report.rs runs this).

usage: class_report_check.py GRADES_DIR MODE DOM_FILE|- [ROSTER_CSV]
  MODE: anonymous (the page names no student) or named (by the roster's first identifier
        column when ROSTER_CSV is given, else by folder name)

The definitions are the report's (GRADING.md, "The class report"), written anew here:
facility = passed / graded submissions that did not skip the test; discrimination =
Pearson's r of passing (1/0) with the rest of the score; reasons = first lines with
numbers that vary in a group masked as '#'.
"""

import csv
import json
import math
import re
import statistics
import sys
from html.parser import HTMLParser
from pathlib import Path

NONE = "\u2013"
NOT_GRADES = {"stats.json", "shard.json"}
NUMBER = re.compile(r"(?<![A-Za-z0-9_])(?:0[xX][0-9A-Fa-f_]*|[0-9][0-9_]*)")
checked = 0


def fail(message):
    sys.exit(f"class_report_check: {message}")


def close(a, b, tolerance, what):
    global checked
    checked += 1
    if a is None or b is None:
        if a is not None or b is not None:
            fail(f"{what}: {a!r} != {b!r}")
        return
    if abs(a - b) > tolerance:
        fail(f"{what}: {a!r} != {b!r}")


def same(a, b, what):
    global checked
    checked += 1
    if a != b:
        fail(f"{what}: {a!r} != {b!r}")


def first_line(message):
    # Lines end at \n alone (as in Rust's str::lines), not at every separator splitlines knows.
    return next((line.strip() for line in message.split("\n") if line.strip()), "")


def group(lines, keep=5):
    groups = {}
    for line in lines:
        numbers = NUMBER.findall(line)
        pieces = tuple(NUMBER.split(line))
        groups.setdefault(pieces, []).append(numbers)
    reasons = []
    for pieces, members in groups.items():
        text = ""
        for i, piece in enumerate(pieces):
            text += piece
            if i < len(members[0]):
                values = {m[i] for m in members}
                text += members[0][i] if len(values) == 1 else "#"
        reasons.append((text, len(members)))
    reasons.sort(key=lambda r: (-r[1], r[0]))
    return reasons[:keep], sum(c for _, c in reasons[keep:])


def summary(points):
    if not points:
        return dict(mean=None, median=None, sd=None, min=None, max=None)
    return dict(
        mean=statistics.fmean(points),
        median=statistics.median(points),
        sd=statistics.pstdev(points),
        min=min(points),
        max=max(points),
    )


def not_started(grade, lab):
    return lab["status"] == "graded" and lab["score"] == 0 and lab["id"] in grade.get("not_started", [])


def class_numbers(folder):
    rows = []
    for path in sorted(folder.glob("*.json")):
        if path.name in NOT_GRADES:
            continue
        rows.append((path.stem, json.loads(path.read_text())))
    grades = [g for _, g in rows if "error" not in g]
    max_score = max((g["max_score"] for g in grades), default=0)
    totals = [g["score"] for g in grades]
    bins = [0] * 10
    for grade in grades:  # a share of the submission's own maximum
        bins[min(grade["score"] * 10 // grade["max_score"], 9) if grade["max_score"] else 0] += 1
    labs, tests = {}, {}
    for grade in grades:
        for lab in grade["labs"]:
            labs.setdefault(lab["id"], lab["title"])
            if lab["status"] == "build_error":
                kind = "build_error"
            elif not_started(grade, lab):
                kind = "not_started"
            else:
                kind = None
            for test in lab["tests"]:
                skipped = test["status"] == "skipped"  # counts for no one, whatever the lab's state
                outcome = (test["status"] if skipped else kind or test["status"], test, grade["score"])
                tests.setdefault((lab["id"], test["name"]), []).append(outcome)
    lab_numbers = {}
    for lab_id in labs:
        of = [next((l for l in g["labs"] if l["id"] == lab_id), None) for g in grades]
        lab_numbers[lab_id] = dict(
            summary([l["score"] if l else 0 for l in of]),
            max_score=max((l["max_score"] for l in of if l), default=0),
            not_started=sum(1 for g, l in zip(grades, of) if l and not_started(g, l)),
            build_errors=sum(1 for l in of if l and l["status"] == "build_error"),
        )
    test_numbers = {}
    for (lab_id, name), outcomes in tests.items():
        counted = [o for o in outcomes if o[0] != "skipped"]
        passed = sum(1 for o in counted if o[0] == "pass")
        x = [1.0 if o[0] == "pass" else 0.0 for o in counted]
        y = [float(total - test["score"]) for _, test, total in counted]
        try:
            r = statistics.correlation(x, y) if len(x) >= 2 else None
        except statistics.StatisticsError:
            r = None  # one of them does not vary
        mix = {k: sum(1 for o in outcomes if o[0] == k) for k in
               ["pass", "fail", "crash", "timeout", "build_error", "skipped", "not_started"]}
        reasons, others = group([first_line(t["message"]) for kind, t, _ in counted
                                 if kind not in ("pass", "not_started")])
        flags = []
        if counted and passed == 0:
            flags.append("nobody passes")
        if counted and passed == len(counted):
            flags.append("everybody passes")
        if r is not None and r < 0:
            flags.append("negative discrimination")
        test_numbers[f"{lab_id}::{name}"] = dict(
            points=max(o[1]["max_score"] for o in outcomes), counted=len(counted), passed=passed,
            facility=passed / len(counted) if counted else None, discrimination=r,
            mix=mix, reasons=reasons, other_reasons=others, flags=flags)
    return dict(rows=rows, grades=grades, max_score=max_score, score=summary(totals), bins=bins,
                labs=labs, lab_numbers=lab_numbers, tests=test_numbers)


def check_stats_json(numbers, stats):
    same(stats["version"], 1, "stats.json version")
    same(stats["seed"], None, "seed")
    same(stats["discrimination"]["name"], "point_biserial_rest", "discrimination method")
    same(stats["submissions"], len(numbers["rows"]), "submissions")
    same(stats["graded"], len(numbers["grades"]), "graded")
    same(stats["max_score"], numbers["max_score"], "max_score")
    for key, value in numbers["score"].items():
        close(stats["score"][key], value, 1e-9, f"stats.json score {key}")
    same([b["count"] for b in stats["histogram"]], numbers["bins"], "histogram")
    same([l["id"] for l in stats["labs"]], list(numbers["labs"]), "labs")
    for lab in stats["labs"]:
        want = numbers["lab_numbers"][lab["id"]]
        for key in ["mean", "median", "sd", "min", "max"]:
            close(lab["score"][key], want[key], 1e-9, f"stats.json {lab['id']} {key}")
        for key in ["max_score", "not_started", "build_errors"]:
            same(lab[key], want[key], f"stats.json {lab['id']} {key}")
    same([f"{t['lab']}::{t['name']}" for t in stats["tests"]], list(numbers["tests"]), "tests")
    for test in stats["tests"]:
        key = f"{test['lab']}::{test['name']}"
        want = numbers["tests"][key]
        for field in ["points", "counted", "passed", "other_reasons"]:
            same(test[field], want[field], f"stats.json {key} {field}")
        close(test["facility"], want["facility"], 1e-9, f"stats.json {key} facility")
        close(test["discrimination"], want["discrimination"], 1e-9, f"stats.json {key} discrimination")
        same(test["statuses"], want["mix"], f"stats.json {key} statuses")
        same([(r["text"], r["count"]) for r in test["reasons"]], want["reasons"], f"stats.json {key} reasons")
        same([f.replace("_", " ") for f in test["flags"]], want["flags"], f"stats.json {key} flags")


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.all()

    def find(self, **attrs):
        return [n for n in self.all() if all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.at = Node("#document", [], None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.at)
        self.at.children.append(node)
        if tag not in VOID:
            self.at = node

    def handle_startendtag(self, tag, attrs):
        self.at.children.append(Node(tag, attrs, self.at))

    def handle_endtag(self, tag):
        node = self.at
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.at = node.parent

    def handle_data(self, data):
        self.at.children.append(data)


def one(nodes, what):
    if len(nodes) != 1:
        fail(f"{what}: {len(nodes)} elements")
    return nodes[0]


def shown(text, tolerance, what, percent=False):
    """A number as the page shows it: `–` for none, `43%`, `0.41`, `3.5`."""
    text = text.strip()
    if text == NONE:
        return None
    try:
        return float(text.rstrip("%")) / (100 if percent else 1)
    except ValueError:
        fail(f"{what}: {text!r} is not a number")


def check_dom(numbers, dom_text, mode, roster):
    tree = Tree()
    tree.feed(dom_text)
    root = tree.root
    # Nothing ran and nothing would: no script element, no event handler, no mark left.
    same([n.tag for n in root.all() if n.tag == "script"], [], "script elements")
    same([(n.tag, a) for n in root.all() for a in n.attrs if a.startswith("on")], [], "event handlers")
    body = one([n for n in root.all() if n.tag == "body"], "body")
    same(body.attrs.get("data-pwned"), None, "a script ran")
    same(one(root.find(id="submissions"), "#submissions").text(), str(len(numbers["rows"])), "submissions")
    same(one(root.find(id="graded"), "#graded").text(), str(len(numbers["grades"])), "graded")
    same(one(root.find(id="seed"), "#seed").text(), "no draw (defaults)", "seed")
    same(one(root.find(id="discrimination-method"), "method").attrs["data-method"], "point_biserial_rest", "method")
    summary_table = one(root.find(id="score-summary"), "#score-summary")
    for key in ["mean", "median", "sd", "min", "max"]:
        cell = one(summary_table.find(data_stat=key), f"score {key}")
        close(shown(cell.text(), 0.05 + 1e-9, key), numbers["score"][key], 0.05 + 1e-9, f"page score {key}")
    histogram = one(root.find(id="histogram"), "#histogram")
    same([int(one(histogram.find(data_bin=str(i)), f"bin {i}").text()) for i in range(10)], numbers["bins"],
         "page histogram")
    for lab_id, want in numbers["lab_numbers"].items():
        row = one([n for n in root.find(data_lab=lab_id) if n.tag == "tr"], f"lab row {lab_id}")
        for key in ["mean", "median", "sd"]:
            close(shown(one(row.find(data_stat=key), key).text(), 0, key), want[key], 0.05 + 1e-9,
                  f"page {lab_id} {key}")
        for key in ["min", "max", "max_score", "not_started", "build_errors"]:
            same(one(row.find(data_stat=key), key).text(), str(want[key]), f"page {lab_id} {key}")
        same(numbers["labs"][lab_id] in row.text(), True, f"page {lab_id} title shown as text")
    table = one(root.find(id="tests"), "#tests")
    flagged = one(root.find(id="flagged"), "#flagged")
    for key, want in numbers["tests"].items():
        row = one([n for n in table.find(data_test=key) if n.tag == "tr"], f"test row {key}")
        lab_id, name = key.split("::", 1)
        same(f"labs/{lab_id}.rs" in row.text() and name in row.text(), True, f"{key} links its lesson")
        cell = lambda stat: one(row.find(data_stat=stat), f"{key} {stat}").text()
        close(shown(cell("facility"), 0, key, percent=True), want["facility"], 0.005 + 1e-9, f"page {key} facility")
        close(shown(cell("discrimination"), 0, key), want["discrimination"], 0.005 + 1e-9,
              f"page {key} discrimination")
        same(cell("points"), str(want["points"]), f"page {key} points")
        for status, count in want["mix"].items():
            same(cell(status), str(count), f"page {key} {status}")
        items = [n for n in row.all() if n.tag == "li" and "data-reason" in n.attrs]
        page_reasons = []
        for item in items:
            text = one([n for n in item.all() if n.attrs.get("class") == "reason"], "reason").text()
            count = one([n for n in item.all() if "data-count" in n.attrs], "count").text()
            page_reasons.append((text, int(count.lstrip("\u00d7"))))
        same(page_reasons, want["reasons"], f"page {key} reasons")
        flags = [n.text() for n in row.all() if n.attrs.get("class") == "flag"]
        same(flags, want["flags"], f"page {key} flags")
        listed = [n for n in flagged.find(data_test=key)]
        same(len(listed), 1 if want["flags"] else 0, f"page {key} in the tests to look at")
    text = root.text()
    folders = [name for name, _ in numbers["rows"]]
    if mode == "anonymous":
        one(root.find(id="anonymous"), "#anonymous")
        same(root.find(id="students"), [], "a students table")
        for name in folders:
            same(name in text, False, f"anonymous page names {name!r}")
    else:
        students = one(root.find(id="students"), "#students")
        by_folder = {}  # without a roster, everyone by folder name
        if roster:
            with open(roster, newline="") as f:
                for record in csv.DictReader(f):
                    by_folder[record["folder"]] = record[next(c for c in record if c != "folder")]
        rows = [n for n in students.all() if "data-student" in n.attrs]
        same(len(rows), len(folders), "students rows")
        for row, name in zip(rows, folders):
            cells = [c for c in row.children if isinstance(c, Node) and c.tag == "td"]
            same(cells[0].text(), by_folder.get(name, name), f"student {name!r} named by the roster")
        for name in folders:
            if name in by_folder:
                same(f">{name}<" in dom_text, False, f"roster page names folder {name!r}")


def main():
    folder, mode, dom = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    roster = sys.argv[4] if len(sys.argv) > 4 else None
    numbers = class_numbers(folder)
    check_stats_json(numbers, json.loads((folder / "stats.json").read_text()))
    if dom != "-":
        check_dom(numbers, Path(dom).read_text(), mode, roster)
    print(f"{checked} numbers and facts equal to those computed from the {len(numbers['rows'])} NAME.json files"
          + ("" if dom != "-" else " (stats.json only: no DOM)"))


if __name__ == "__main__":
    main()
