"""Bundled example photo and the scripted replies of the offline demo (not a model).

tabletop        the photo (tabletop.png), its ground truth and the demo's scripted replies
tabletop_edit   the demo in edit mode: a perturbed copy of the demo scene brought back to the photo
tabletop_interact  the demo's interaction: roll the red ball into the yellow can
"""
