"""Scene-level properties of the add-on (run state shown by the panel). No secrets here."""

CLASSES = ()
