"""The camera path up to angles: the pose model (MediaPipe BlazePose, lazily imported),
sagittal keypoint angles, the virtual dowel from the person mask, and the One Euro
filter. Parallel to ``orientation`` (the IMU path); the two meet at the angle channels."""
