"""Size of the library in one or more checkouts: physical lines, code lines (no blank lines,
comments or docstrings), and two measures formatting cannot change: statements and AST nodes
(docstrings excluded).

    python docs/dev/scripts/size.py OLD_CHECKOUT NEW_CHECKOUT
"""
import ast
import pathlib
import sys


def _strip_docstrings(tree):
    doc = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(getattr(node.body[0], "value", None), ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            doc.update(range(node.body[0].lineno, node.body[0].end_lineno + 1))
            node.body[0] = ast.Pass()
    return doc


def measure(root):
    files = sorted(pathlib.Path(root, "dictlearn").rglob("*.py"))
    phys = code = stmts = nodes = 0
    for p in files:
        src = p.read_text()
        tree = ast.parse(src)
        doc = _strip_docstrings(tree)
        lines = src.splitlines()
        phys += len(lines)
        code += sum(1 for i, ln in enumerate(lines, 1)
                    if ln.strip() and not ln.strip().startswith("#") and i not in doc)
        walked = list(ast.walk(tree))
        stmts += sum(isinstance(n, ast.stmt) for n in walked)
        nodes += len(walked)
    return len(files), phys, code, stmts, nodes


if __name__ == "__main__":
    print("checkout | files | physical lines | code lines | statements | AST nodes")
    for root in sys.argv[1:]:
        print(root, *measure(root), sep=" | ")
