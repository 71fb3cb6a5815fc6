"""三率: 响应率, 解决率, 满意率 per hall, department and property company (issue #13)."""
