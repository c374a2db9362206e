"""The ROS side of dsr_ros: message ↔ numpy conversions, the ROS-free node core, the rclpy node, bag processing.

Nothing here imports torch or (at module level) rclpy or rosbags: messages are built through a
`MessageFactory`, so the same code serves rclpy nodes, rosbags bags and tests.
"""
