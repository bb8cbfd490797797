"""Deduplicating the modules of an emitted design, for hierarchical synthesis.

Amaranth writes every elaborated submodule as a Verilog module of its own, named by its place
in the hierarchy (``\\top.lane3``, ``\\top.table0.entry4$13``), so eight identical lanes become
eight modules that differ only in names. :func:`deduplicate` gives every module a canonical
text — its own name, its wires and its ports renamed by order of first appearance, its
submodules' names replaced by their canonical names — and merges modules whose canonical
texts are equal. The canonical name ``hwgen_<hash>`` is a hash of that text, so the same unit
has the same name in every design and sweep point that contains it, and a synthesis result
stored under it can be reused wherever the unit reappears.

Two modules are merged only when their texts are identical up to a consistent renaming, so a
merge never changes what is synthesized; a pair that is equivalent but written differently is
simply kept apart.
"""
import collections
import dataclasses
import hashlib
import re

__all__ = ["Module", "Hierarchy", "deduplicate", "split_modules", "subtree_verilog", "RULES",
           "MIN_UNIT_TEXT"]

# Canonical Verilog characters (the module and everything below it) a repeated module needs
# to be a unit of its own. A smaller one (a lane of a few dozen gates) takes Yosys little
# time flattened, and alone it loses the optimization across its boundary, which is then a
# large part of it: measured on the shipped bit-parallel and bit-serial lanes (1-2 k
# characters), units gave 8-12 % more or fewer GE/LUT4 than flat synthesis. A memory also
# counts one character per bit: its text is one line per word whatever the width, and in
# the generic view every bit is a flop (an NTT's coefficient bank of 128 × 23 bits is 3.9 k
# characters, 30 k GE).
MIN_UNIT_TEXT = 4000

# How units are chosen; part of every hierarchical cache key, so change it with the rules.
RULES = (f"units: the top and every module some module instantiates more than once, if its "
         f"subtree has at least {MIN_UNIT_TEXT} characters, a memory's bits counted as "
         f"characters")

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<number>\d*'[sS]?[bBoOdDhH]\s*[0-9a-fA-FxXzZ?_]+|\d+(?:\.\d+)?)
  | (?P<escaped>\\\S+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<system>\$[A-Za-z0-9_$]+)
  | (?P<other>.)
""", re.S | re.X)

# Verilog-2005 reserved words (IEEE 1364-2005 annex B): never renamed.
_KEYWORDS = frozenset("""
    always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config
    deassign default defparam design disable edge else end endcase endconfig endfunction
    endgenerate endmodule endprimitive endspecify endtable endtask event for force forever
    fork function generate genvar highz0 highz1 if ifnone incdir include initial inout input
    instance integer join large liblist library localparam macromodule medium module nand
    negedge nmos nor noshowcancelled not notif0 notif1 or output parameter pmos posedge
    primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real
    realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled
    signed small specify specparam strong0 strong1 supply0 supply1 table task time tran
    tranif0 tranif1 tri tri0 tri1 triand trior trireg unsigned use uwire vectored wait wand
    weak0 weak1 while wire wor xnor xor
""".split())

_SELF = "\0"

# A memory's declaration, as Amaranth writes it: ``reg [W-1:0] NAME [D-1:0];`` (no width: 1 bit).
_MEMORY = re.compile(r"\breg\s+(?:\[(\d+):(\d+)\]\s*)?(?:\\\S+|[A-Za-z_][\w$]*)\s*\[(\d+):(\d+)\]\s*;")


@dataclasses.dataclass(frozen=True)
class Module:
    """A distinct module of a design.

    ``name`` is the canonical name (``hwgen_`` and a hash of the canonical text); ``label`` the
    name Amaranth gave its first occurrence; ``text`` its canonical Verilog; ``children`` how
    many instances of each distinct submodule (by canonical name) it holds; ``instances`` how
    many times it occurs in the whole design.
    """
    name: str
    label: str
    text: str
    children: dict
    instances: int


@dataclasses.dataclass(frozen=True)
class Hierarchy:
    """The distinct modules of a design, its top module's canonical name first."""
    top: str
    modules: dict

    def verilog(self, names=None):
        """Verilog text of the modules named (all when ``names`` is None), leaves first."""
        names = self.modules if names is None else set(names)
        return "".join(module.text for name, module in reversed(self.modules.items())
                       if name in names)

    def units(self):
        """Names of the modules synthesized as units of their own: the top and every module
        that some module instantiates more than once (identical siblings: lanes, table
        builders, segment decoders) and that is not tiny (:data:`MIN_UNIT_TEXT`). Every other
        module is flattened into the unit holding it, so logic that a single parent shares
        between its different children (two adders on the same operands, say) is still
        optimized together."""
        sizes = {}
        for name, module in reversed(self.modules.items()):   # children first
            sizes[name] = len(module.text) + _memory_bits(module.text) + sum(
                count * sizes[child] for child, count in module.children.items())
        found = {self.top}
        for module in self.modules.values():
            found.update(child for child, count in module.children.items()
                         if count > 1 and sizes[child] >= MIN_UNIT_TEXT)
        return found

    def expand(self, name, units):
        """``(held, parts)`` of module ``name`` when ``units`` are kept as units: how many
        instances of each unit it holds, counted through the modules flattened into it, and
        the names of those flattened modules."""
        held, parts = collections.Counter(), set()

        def walk(parent, factor):
            for child, count in self.modules[parent].children.items():
                if child in units:
                    held[child] += factor * count
                else:
                    parts.add(child)
                    walk(child, factor * count)

        walk(name, 1)
        return dict(sorted(held.items())), parts

    def subtree(self, name):
        """Names of module ``name`` and every module below it."""
        found = {name}
        for child in self.modules[name].children:
            found |= self.subtree(child)
        return found

    def stub(self, name):
        """A blackbox declaration of module ``name``: its ports, no contents."""
        statements = "".join(token for _, token in _tokens(self.modules[name].text)).split(";")
        ports = [statement for statement in statements[1:]
                 if statement.split(None, 1)[:1] in (["input"], ["output"], ["inout"])]
        return "(* blackbox *)\n" + ";".join([statements[0], *ports, "\nendmodule\n"])


def _memory_bits(text):
    """Bits of the memories declared in a module's Verilog ``text``."""
    return sum((abs(int(msb) - int(lsb)) + 1 if msb else 1) * (abs(int(last) - int(first)) + 1)
               for msb, lsb, last, first in _MEMORY.findall(text))


def _tokens(text):
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind != "comment":
            tokens.append((kind, match.group()))
    return tokens


def split_modules(text):
    """``{name: tokens}`` of every module in Verilog ``text``, in the order written."""
    modules, current = {}, None
    for kind, token in _tokens(text):
        if current is None:
            if token == "module":
                current = [(kind, token)]
            continue
        if kind == "space" and current[-1][0] == "space":
            continue
        current.append((kind, token))
        if token == "endmodule":
            name = current[2][1]
            if name in modules:
                raise ValueError(f"module {name} is defined twice")
            modules[name] = current
            current = None
    if current is not None:
        raise ValueError(f"module {current[2][1]} has no endmodule")
    return modules


def subtree_verilog(text, top):
    """The modules of Verilog ``text`` that module ``top`` consists of (itself and every
    module below it), as written, under their own names."""
    modules = split_modules(text)
    found, pending = [], [top]
    while pending:
        name = pending.pop()
        if name not in found:
            found.append(name)
            pending.extend(_instances(modules[name], modules))
    return "".join("".join(token for _, token in modules[name]) + "\n"
                   for name in modules if name in found)


def _is_name(kind, token):
    return kind in ("ident", "escaped") and token not in _KEYWORDS


def _instances(tokens, defined):
    """The submodule types instantiated in a module's tokens, with their counts."""
    found = collections.Counter()
    words = [(kind, token) for kind, token in tokens if kind != "space"]
    for (kind, token), (next_kind, next_token) in zip(words, words[1:]):
        if token in defined and _is_name(kind, token) and _is_name(next_kind, next_token):
            found[token] += 1
    return found


def _sorted_header(tokens):
    """The tokens of a module with the port list of its header in the order the ports are
    declared: Amaranth lists the ports of two identical submodules in whichever order it met
    their signals but declares them in the same order, and instances connect ports by name."""
    start = next(index for index, (_, token) in enumerate(tokens) if token in ("(", ";"))
    if tokens[start][1] != "(":
        return tokens
    end = next(index for index, (_, token) in enumerate(tokens) if token == ")")
    ports = {token for kind, token in tokens[start + 1:end] if _is_name(kind, token)}
    declared = {}
    for _, token in tokens[end + 1:]:
        if token in ports:
            declared.setdefault(token, len(declared))
    ports = sorted(ports, key=lambda port: (declared.get(port, len(declared)), port))
    listed = [("other", "(")]
    for port in ports:
        listed += [("ident", port), ("other", ",")]
    return tokens[:start] + listed[:-1] + [("other", ")")] + tokens[end + 1:]


def _canonical(tokens, canonical_names, port_maps, *, keep_ports=False):
    """Canonical text of one module (its own name as a placeholder) and the renaming of its
    identifiers; submodule types and the ports they connect are renamed as the submodules
    were. ``keep_ports`` keeps the names of the module's own ports."""
    tokens = _sorted_header(tokens)
    words = [index for index, (kind, _) in enumerate(tokens) if kind != "space"]
    following = dict(zip(words, words[1:] + [None]))
    renaming, out, child, previous = {}, [], None, None
    if keep_ports:
        header = tokens[:next(index for index, (_, token) in enumerate(tokens) if token == ";")]
        renaming = {token: token for kind, token in header[3:] if _is_name(kind, token)}
    for index, (kind, token) in enumerate(tokens):
        if kind == "space":
            # One blank per run (a line break if it has one); none after a renamed escaped
            # name, which ends in its own.
            if not out or not out[-1].endswith((" ", "\n")):
                out.append("\n" if "\n" in token else " ")
            continue
        after = tokens[following[index]] if following[index] is not None else ("", "")
        if previous == "module":
            out.append(_SELF)
        elif not _is_name(kind, token):
            out.append(token)
            if token == ";":
                child = None
        elif token in canonical_names and _is_name(*after):
            child = token
            out.append(canonical_names[token])
        elif previous == "." and child is not None and after[1] == "(":
            out.append(port_maps[child][token])
        else:
            if token not in renaming:
                # Escaped names starting with $ cannot be a kept port's name (those are
                # Python identifiers); the space ends the escaped name.
                renaming[token] = f"\\${len(renaming)} "
            out.append(renaming[token])
        previous = token
    return "".join(out), renaming


def deduplicate(text, top):
    """The :class:`Hierarchy` of Verilog ``text`` whose top module is ``top``."""
    modules = split_modules(text)
    if top not in modules:
        if f"\\{top}" not in modules:
            raise ValueError(f"the Verilog has no module {top!r}")
        top = f"\\{top}"
    children = {name: _instances(tokens, modules) for name, tokens in modules.items()}

    order, seen = [], set()

    def visit(name, path):
        if name in path:
            raise ValueError(f"module {name} instantiates itself")
        if name in seen:
            return
        for child in children[name]:
            visit(child, path | {name})
        seen.add(name)
        order.append(name)

    visit(top, frozenset())

    canonical_names, port_maps, texts, labels = {}, {}, {}, {}
    for name in order:
        body, renaming = _canonical(modules[name], canonical_names, port_maps,
                                    keep_ports=name == top)
        digest = hashlib.sha256(body.encode()).hexdigest()[:20]
        canonical = f"hwgen_{digest}"
        canonical_names[name] = canonical
        port_maps[name] = renaming
        texts.setdefault(canonical, body.replace(_SELF, canonical, 1) + "\n")
        labels.setdefault(canonical, name.lstrip("\\"))

    instances = collections.Counter({top: 1})
    for name in reversed(order):
        for child, count in children[name].items():
            instances[child] += instances[name] * count
    totals = collections.Counter()
    for name in order:
        totals[canonical_names[name]] += instances[name]

    held = {}
    for name in order:
        held.setdefault(canonical_names[name], collections.Counter(
            canonical_names[child] for child, count in children[name].items()
            for _ in range(count)))
    # Parents before children on the merged graph: a module merged with one met earlier can
    # sit under a parent that the original order put after it.
    merged_order, seen = [], set()

    def visit_merged(name):
        if name not in seen:
            seen.add(name)
            for child in held[name]:
                visit_merged(child)
            merged_order.append(name)

    visit_merged(canonical_names[top])
    distinct = {name: Module(name=name, label=labels[name], text=texts[name],
                             children=dict(sorted(held[name].items())), instances=totals[name])
                for name in reversed(merged_order)}
    return Hierarchy(top=canonical_names[top], modules=distinct)
