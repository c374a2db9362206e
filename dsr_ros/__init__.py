"""dsr_ros: real-time depth super-resolution for ROS 2 robots."""

__version__ = "0.1.0"
