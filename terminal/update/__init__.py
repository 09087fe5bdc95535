"""The update room: signed update bundles (``bundle``) and the A/B slots they install into
(``slots``). See docs/updates.md."""
