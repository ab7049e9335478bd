"""The node library. Each module declares node types (see clipig_nodes.registry);
the registry loads these files by path, so users can add folders of their own
(CLIPIG_NODES_PATH) with the same API."""
