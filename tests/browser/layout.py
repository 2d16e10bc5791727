"""Checks run on a page in the browser: axe-core, overlapping text, action buttons off-screen."""

from axe_playwright_python.sync_playwright import Axe

AXE = Axe()
BLOCKING = {"serious", "critical"}

# Every rendered line of text as a rectangle (text nodes, not elements: a block's box is wider
# than its words). Hidden and 1-pixel (visually hidden) text is left out.
TEXT_BOXES = """() => {
  const boxes = [];
  const clipped = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const st = getComputedStyle(e);
      if (st.clip !== "auto" && st.position === "absolute") return true;  // visually hidden
      if (st.display === "none" || st.visibility === "hidden") return true;
    }
    return false;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node, id = 0;
  while ((node = walker.nextNode())) {
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (!el || el.closest("select, option, script, style, [hidden], details:not([open]) > :not(summary)")) continue;
    if (clipped(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    id += 1;
    for (const r of range.getClientRects()) {
      if (r.width <= 1 || r.height <= 1) continue;
      const text = node.textContent.trim().slice(0, 40);
      boxes.push({id, text, l: r.left, t: r.top + scrollY, r: r.right, b: r.bottom + scrollY});
    }
  }
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.id === b.id) continue;
    const w = Math.min(a.r, b.r) - Math.max(a.l, b.l), h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
    if (w > 2 && h > 2) overlaps.push([a.text, b.text]);
  }
  return overlaps;
}"""

# Buttons and button-like links in the page's content that do not fit across the viewport.
OFF_SCREEN_ACTIONS = """() => {
  const out = [];
  for (const el of document.querySelectorAll("main button, main .btn, main input[type=submit]")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // collapsed (closed <details>)
    const width = document.documentElement.clientWidth;
    if (r.left < -0.5 || r.right > width + 0.5) out.push(el.textContent.trim().slice(0, 40));
  }
  return out;
}"""


# Scrolling boxes (tables in .table-responsive) whose content is wider than the box: on a wide screen
# nothing should sit behind a sideways scrollbar. (On a phone wide tables stack instead.)
CLIPPED_BOXES = """() => {
  const out = [];
  for (const el of document.querySelectorAll("main .table-responsive")) {
    if (el.scrollWidth > el.clientWidth + 1) {
      const widths = [...el.querySelectorAll("thead th")].map(
        (th) => th.textContent.trim().slice(0, 12) + ": " + Math.round(th.getBoundingClientRect().width));
      out.push({over: el.scrollWidth - el.clientWidth, columns: widths});
    }
  }
  return out;
}"""


def serious_violations(page):
    results = AXE.run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def check_page(page, take_screenshot, name, wide=False):
    """Screenshot, then assert: no serious/critical axe finding, no overlapping text, actions on screen."""
    take_screenshot(name)
    problems = {
        "axe": serious_violations(page),
        "overlapping text": page.evaluate(TEXT_BOXES)[:5],
        "actions off-screen": page.evaluate(OFF_SCREEN_ACTIONS),
        "page wider than the viewport": page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
        ),
    }
    if wide:
        problems["content behind a sideways scrollbar"] = page.evaluate(CLIPPED_BOXES)
    return {key: value for key, value in problems.items() if value}
