"""One module per stage: prompts, round budget, tools and scope of edits. No bpy here."""
