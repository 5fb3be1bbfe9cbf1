"""Images as numpy RGB arrays (ROS-free): ``codecs`` (camera buffers <-> RGB),
``overlay`` (drawing hands), ``files`` (PNG and MP4 writers)."""
