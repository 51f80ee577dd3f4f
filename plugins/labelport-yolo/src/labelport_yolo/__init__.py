"""YOLO formats for labelport, one module (and entry point) per format id:

- ``labelport_yolo.yolo``: darknet YOLO (``obj.data``/``obj.names``, ``class cx cy w h`` rows);
- ``labelport_yolo.ultralytics``: Ultralytics YOLO (``data.yaml``; detect, segment, pose, obb, classify);
- ``labelport_yolo.yolo_keras``: YOLO Keras TXT (``path x1,y1,x2,y2,class ...`` lines).

Code they share lives in ``labelport_yolo._common``.
"""
