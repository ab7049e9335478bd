"""Commands over the graph model: each does and undoes exactly; history, merging,
dirty flag, revisions; clipboard across graphs with fresh ids."""

import pytest

from clipig_nodes.graph import commands as C
from clipig_nodes.graph.clipboard import (copy_nodes, duplicate_command, paste_command,
                                          selection_graph)
from clipig_nodes.graph.fileformat import dumps_graph
from clipig_nodes.graph.model import Graph, GraphError, Link
from clipig_nodes.problems import ProblemsError

from .graph_builders import minimal, strawberries


def snapshot(graph):
    """Everything about a graph, order included (Graph.__eq__ ignores params order)."""
    return (graph.description,
            [(n.id, n.type, list(n.params.items()), n.pos) for n in graph],
            list(graph.links), dumps_graph(graph))


def roundtrip(graph, command):
    """do, undo, redo: undo restores exactly, redo gives the same as do."""
    before = snapshot(graph)
    command.do(graph)
    after = snapshot(graph)
    assert after != before
    command.undo(graph)
    assert snapshot(graph) == before
    command.do(graph)
    assert snapshot(graph) == after
    return after


# --- each command -------------------------------------------------------------------------------

def test_add_node(registry):
    g = minimal()
    cmd = C.AddNode("blur", params={"kernel_size": [5, 5]}, pos=(10, 20))
    roundtrip(g, cmd)
    assert cmd.node_id == "blur" and g.nodes["blur"].pos == (10.0, 20.0)
    assert list(g.nodes)[-1] == "blur"
    second = C.AddNode("blur")
    second.do(g)
    assert second.node_id == "blur_2"


def test_remove_nodes_restores_place_order_and_links():
    g = strawberries()
    ids = ["random_rotate", "text_feature"]
    roundtrip(g, C.RemoveNodes(ids))
    assert "random_rotate" not in g and not any("random_rotate" in (l.src, l.dst) for l in g.links)


def test_remove_unknown_node_changes_nothing():
    g = strawberries()
    before = snapshot(g)
    with pytest.raises(GraphError):
        C.RemoveNodes(["pixels", "nope"]).do(g)
    assert snapshot(g) == before


def test_connect_and_replace_keep_link_order(registry):
    g = strawberries()
    g.add_node("random_shift", "shift2")
    g.connect("pixels", "image", "shift2", "image")
    old = Link("center_crop", "image", "random_sampler", "image")
    index = g.links.index(old)
    cmd, reason = C.connect_command(g, registry, Link("shift2", "image", "random_sampler", "image"))
    assert reason is None and cmd.replaces == [old]
    roundtrip(g, cmd)
    assert old not in g.links and g.links[index] == cmd.link      # took the old one's place


def test_connect_refused_with_reason(registry):
    g = strawberries()
    for link, words in [
        (Link("text_feature", "feature", "random_sampler", "image"), "FEATURE cannot feed IMAGE"),
        (Link("random_shift", "image", "random_shift", "image"), "cannot feed itself"),
        (Link("random_scale", "image", "random_shift", "image"), "would create a cycle"),
    ]:
        cmd, reason = C.connect_command(g, registry, link)
        assert cmd is None and words in reason


def test_connect_multi_input_appends(registry):
    g = minimal()
    g.add_node("text_feature", "second", params={"text": "b"})
    cmd, _ = C.connect_command(g, registry, Link("second", "feature", "target", "features"))
    assert cmd.replaces == []
    roundtrip(g, cmd)
    assert len(g.links_into("target", "features")) == 2


def test_connect_existing_link_raises_before_changing():
    g = minimal()
    before = snapshot(g)
    with pytest.raises(GraphError):
        C.Connect(g.links[0]).do(g)
    assert snapshot(g) == before


def test_disconnect():
    g = strawberries()
    cmd = C.Disconnect([g.links[2], g.links[5]])
    roundtrip(g, cmd)
    with pytest.raises(GraphError):
        C.Disconnect([Link("a", "b", "c", "d")]).do(g)


def test_set_and_reset_param_keep_param_order():
    g = strawberries()
    roundtrip(g, C.SetParam("train", "learnrate", 3.0))           # existing value
    roundtrip(g, C.SetParam("train", "optimizer", "sgd"))         # new value
    roundtrip(g, C.ResetParam("pixels", "resolution"))            # first of three
    assert "resolution" not in g.nodes["pixels"].params
    C.ResetParam("pixels", "nothing_set").do(g)                   # no-op, still undoable


def test_move_rename_description():
    g = strawberries()
    roundtrip(g, C.MoveNodes({"pixels": (5, 6), "train": (7, 8)}))
    index = list(g.nodes).index("random_sampler")
    roundtrip(g, C.Rename("random_sampler", "sampler"))
    assert Link("sampler", "target", "train", "targets") in g.links
    assert list(g.nodes).index("sampler") == index
    roundtrip(g, C.SetDescription("new words"))
    with pytest.raises(GraphError):
        C.Rename("pixels", "train").do(g)
    with pytest.raises(GraphError):
        C.Rename("pixels", "not valid").do(g)


def test_compound_is_all_or_nothing():
    g = strawberries()
    roundtrip(g, C.Compound([C.RemoveNodes(["blur_constraint"]),
                             C.Disconnect([g.links[0]]),
                             C.SetParam("train", "epochs", 5)]))
    before = snapshot(g)
    with pytest.raises(GraphError):
        C.Compound([C.SetParam("train", "epochs", 9), C.RemoveNodes(["nope"])]).do(g)
    assert snapshot(g) == before


# --- history ------------------------------------------------------------------------------------

def test_history_undo_redo_every_step():
    g = strawberries()
    h = C.History(g)
    states = [snapshot(g)]
    for cmd in [C.AddNode("noise", params={"std": [0.1, 0.1, 0.1]}),
                C.Connect(Link("pixels", "image", "noise", "image")),
                C.SetParam("noise", "std", 0.2),
                C.Rename("noise", "grain"),
                C.RemoveNodes(["random_rotate"])]:
        h.execute(cmd)
        h.seal()
        states.append(snapshot(g))
    for expected in reversed(states[:-1]):
        assert h.undo() is not None
        assert snapshot(g) == expected
    assert h.undo() is None and not h.can_undo
    for expected in states[1:]:
        h.redo()
        assert snapshot(g) == expected
    assert h.redo() is None


def test_new_command_clears_redo():
    h = C.History(minimal())
    h.execute(C.SetParam("train", "epochs", 1))
    h.undo()
    assert h.can_redo
    h.execute(C.SetParam("train", "epochs", 2))
    assert not h.can_redo


def test_typing_merges_until_sealed():
    g = minimal()
    h = C.History(g)
    for text in ("1", "1 -", "1 - t"):
        h.execute(C.SetParam("train", "learnrate_scale", text))
    assert len(h._undo) == 1 and g.nodes["train"].params["learnrate_scale"] == "1 - t"
    h.seal()
    h.execute(C.SetParam("train", "learnrate_scale", "2"))
    assert len(h._undo) == 2
    h.execute(C.SetParam("train", "epochs", 3))           # another param: new step
    assert len(h._undo) == 3
    h.undo(), h.undo(), h.undo()
    assert "learnrate_scale" not in g.nodes["train"].params


def test_moves_merge():
    g = minimal()
    h = C.History(g)
    h.execute(C.MoveNodes({"pixels": (1, 1)}))
    h.execute(C.MoveNodes({"pixels": (2, 2)}))
    h.execute(C.MoveNodes({"train": (3, 3)}))
    assert len(h._undo) == 2
    h.undo(), h.undo()
    assert g.nodes["pixels"].pos == (0.0, 0.0)


def test_dirty_flag_and_revision():
    h = C.History(minimal())
    seen = []
    h.add_listener(lambda history, action, command: seen.append(action))
    assert not h.dirty and h.revision == 0
    h.execute(C.SetParam("train", "epochs", 1))
    assert h.dirty and h.revision == 1
    h.mark_saved()
    assert not h.dirty
    h.execute(C.SetParam("train", "epochs", 2))          # sealed by the save: a new step
    assert h.dirty
    h.undo()
    assert not h.dirty                                     # back at the saved content
    h.undo()
    assert h.dirty
    h.redo()
    assert not h.dirty
    # typing merged into the saved step changes the content: dirty again
    h.execute(C.SetParam("train", "epochs", 5))
    h.mark_saved()
    h._sealed = False
    h.execute(C.SetParam("train", "epochs", 6))
    assert h.dirty
    assert h.revision == 7
    assert seen == ["do", "saved", "do", "undo", "undo", "redo", "do", "saved", "do"]
    h.reset(Graph())
    assert not h.dirty and not h.can_undo
    h.reset(Graph(), dirty=True)
    assert h.dirty


def test_failed_command_leaves_history_alone():
    h = C.History(minimal())
    with pytest.raises(GraphError):
        h.execute(C.RemoveNodes(["nope"]))
    assert not h.can_undo and h.revision == 0 and not h.dirty


def test_history_limit():
    h = C.History(minimal(), limit=3)
    for n in range(5):
        h.execute(C.SetParam("train", "epochs", n), merge=False)
    assert len(h._undo) == 3 and h.dirty


# --- clipboard ----------------------------------------------------------------------------------

def test_copy_paste_across_graphs_with_fresh_ids():
    source = strawberries()
    text = copy_nodes(source, ["random_shift", "random_rotate", "text_feature"])
    fragment = selection_graph(source, ["random_shift", "random_rotate", "text_feature"])
    assert [l for l in fragment.links] == [Link("random_shift", "image", "random_rotate", "image")]

    target = minimal()
    target.add_node("random_shift")
    h = C.History(target)
    cmd = h.execute(paste_command(text))
    assert cmd.ids == {"random_shift": "random_shift_2", "random_rotate": "random_rotate",
                       "text_feature": "text_feature_2"}
    assert Link("random_shift_2", "image", "random_rotate", "image") in target.links
    assert target.nodes["random_shift_2"].pos == (source.nodes["random_shift"].pos[0] + 40,
                                                 source.nodes["random_shift"].pos[1] + 40)
    assert target.nodes["text_feature_2"].params == source.nodes["text_feature"].params
    before = snapshot(target)
    h.undo()
    assert "random_rotate" not in target and "random_shift_2" not in target
    h.redo()
    assert snapshot(target) == before
    # the paste does not share data with the source
    target.nodes["text_feature_2"].params["text"] = "changed"
    assert source.nodes["text_feature"].params["text"] != "changed"


def test_paste_twice_and_duplicate_numbering():
    g = strawberries()
    text = copy_nodes(g, ["blur_constraint"])
    first = paste_command(text)
    first.do(g)
    second = paste_command(text)
    second.do(g)
    assert first.new_ids == ["blur_constraint_2"] and second.new_ids == ["blur_constraint_3"]
    dup = duplicate_command(g, ["blur_constraint_3"])
    dup.do(g)
    assert dup.new_ids == ["blur_constraint_4"]


def test_paste_at_a_point():
    g = strawberries()
    cmd = paste_command(copy_nodes(g, ["random_shift", "random_rotate"]), at=(1000, 2000))
    cmd.do(g)
    positions = sorted(g.nodes[i].pos for i in cmd.new_ids)
    assert positions[0] == (1000.0, 2000.0)


def test_paste_rejects_text_that_is_no_graph():
    for text in ("", "just words", "- a\n- list\n"):
        with pytest.raises(ProblemsError):
            paste_command(text)


# --- groups and reroutes ------------------------------------------------------------------------

def test_group_commands_do_and_undo_exactly():
    graph = strawberries()
    add = C.AddGroup("views", ["random_shift", "random_rotate"], (60, 110, 170))
    roundtrip(graph, add)
    assert graph.groups[0].title == "views" and graph.groups[0].nodes == ["random_shift",
                                                                           "random_rotate"]
    roundtrip(graph, C.EditGroup(0, title="the views", color=(200, 80, 40),
                                 nodes=["random_shift", "random_rotate", "center_crop"]))
    assert graph.groups[0].color == (200, 80, 40) and len(graph.groups[0].nodes) == 3
    roundtrip(graph, C.RemoveGroup(0))
    assert graph.groups == []
    with pytest.raises(GraphError):
        C.AddGroup("x", ["no_such_node"]).do(graph)
    assert graph.groups == []


def test_groups_follow_renames_and_survive_save_and_load():
    from clipig_nodes.graph.fileformat import loads_graph

    graph = strawberries()
    C.AddGroup("views", ["random_shift", "random_rotate"], (60, 110, 170)).do(graph)
    C.AddGroup("losses", ["text_feature"]).do(graph)
    C.Rename("random_rotate", "spin").do(graph)
    assert graph.groups[0].nodes == ["random_shift", "spin"]
    removed = C.RemoveNodes(["random_shift"])
    removed.do(graph)
    text = dumps_graph(graph)
    assert "groups:" in text and "random_shift" not in text.split("groups:")[1]
    again = loads_graph(text)
    assert [(g.title, g.color, g.nodes) for g in again.groups] == [
        ("views", (60, 110, 170), ["spin"]), ("losses", (90, 110, 150), ["text_feature"])]
    removed.undo(graph)                            # undo brings the member back into its frame
    assert graph.groups[0].nodes == ["random_shift", "spin"]


@pytest.mark.parametrize("groups, message", [
    ("groups: {title: x}", "groups is a list"),
    ("groups:\n- {title: x, nodes: [nope]}", "no node 'nope'"),
    ("groups:\n- {title: x, color: [1, 2, 300], nodes: []}", "color is three whole numbers"),
    ("groups:\n- {title: x, size: 3}", "unknown key 'size'"),
])
def test_bad_groups_in_a_file_name_where(groups, message):
    from clipig_nodes.graph.fileformat import loads_graph

    text = dumps_graph(strawberries()) + groups + "\n"
    with pytest.raises(ProblemsError) as info:
        loads_graph(text, source="g.graph.yaml")
    problem = info.value.problems[0]
    assert message in problem.message and problem.path.startswith("groups")
    assert problem.line is not None


def test_reroutes_are_spliced_out_before_checks_compile_and_export(registry):
    from clipig_nodes.graph.compile import compile_graph
    from clipig_nodes.graph.reroute import splice_reroutes
    from clipig_nodes.graph.validate import validate
    from clipig_nodes.legacy.exporter import export_legacy

    plain = strawberries()
    graph = plain.copy()
    for link in [Link("random_shift", "image", "random_rotate", "image"),
                 Link("text_feature", "feature", "random_sampler", "features")]:
        roundtrip(graph, C.insert_reroute_command(graph, registry, link, (100, 100)))
    # a reroute of a reroute: two dots on one link
    dot = "reroute_image"
    C.insert_reroute_command(graph, registry, Link("random_shift", "image", dot, "in"),
                             (50, 50)).do(graph)
    assert {"reroute_image", "reroute_image_2", "reroute_feature"} <= set(graph.nodes)
    spliced = splice_reroutes(graph)
    assert list(spliced.links) == list(plain.links) and list(spliced.nodes) == list(plain.nodes)
    assert "reroute_image" in graph.nodes                  # the graph itself is not changed
    assert splice_reroutes(plain) is plain
    assert not [p for p in validate(graph, registry) if p.is_error]
    assert compile_graph(graph, registry).order == compile_graph(plain, registry).order
    C.AddGroup("views", ["random_shift"]).do(graph)
    with_dots, without = export_legacy(graph, registry), export_legacy(plain, registry)
    assert with_dots.data == without.data
    assert any("group frame" in p.message for p in with_dots.problems)
