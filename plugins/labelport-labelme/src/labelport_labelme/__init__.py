"""LabelMe formats for labelport.

- :mod:`labelport_labelme.labelme` — format id ``labelme``: the JSON files of the LabelMe
  desktop tool (wkentaro/labelme), one per image.
- :mod:`labelport_labelme.labelme3` — format id ``labelme3``: the LabelMe 3.0 XML of the
  MIT CSAIL web tool, as CVAT and datumaro exchange it.
"""
