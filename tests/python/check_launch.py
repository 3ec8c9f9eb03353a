"""Test helper: checks the shipped launch files structurally (ROS 2 launch
itself has no PyPI wheels, so it cannot run here). Prints one JSON object:
  {"xml": {...facts...}, "python": {...facts...}}
"""
import ast
import json
import sys
import xml.etree.ElementTree as ET


def xml_facts(path):
    root = ET.parse(path).getroot()
    args = {a.get("name"): a.get("default") for a in root.findall("arg")}
    nodes = [n.attrib for n in root.findall("node")]
    return {"root": root.tag, "args": args, "nodes": nodes}


def python_facts(path):
    tree = ast.parse(open(path).read(), path)
    facts = {"functions": [], "node_calls": [], "shutdown_on_exit": False, "declared": [], "imports": []}
    for n in ast.walk(tree):
        if isinstance(n, ast.FunctionDef):
            facts["functions"].append(n.name)
        if isinstance(n, ast.ImportFrom):
            facts["imports"].append(n.module)
        if isinstance(n, ast.Call):
            name = getattr(n.func, "id", getattr(n.func, "attr", ""))
            if name == "Node":
                kw = {}
                for k in n.keywords:
                    if isinstance(k.value, ast.Constant):
                        kw[k.arg] = k.value.value
                    elif isinstance(k.value, ast.List):
                        kw[k.arg] = [e.value if isinstance(e, ast.Constant) else "<subst>" for e in k.value.elts]
                    else:
                        kw[k.arg] = "<expr>"
                facts["node_calls"].append(kw)
            if name == "DeclareLaunchArgument" and n.args and isinstance(n.args[0], ast.Constant):
                facts["declared"].append(n.args[0].value)
            if name == "OnProcessExit":
                text = ast.unparse(n)
                if "Shutdown" in text:
                    facts["shutdown_on_exit"] = True
    return facts


print(json.dumps({"xml": xml_facts(sys.argv[1]), "python": python_facts(sys.argv[2])}))
