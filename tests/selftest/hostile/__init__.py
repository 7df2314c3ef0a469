"""Small hostile HTTP servers that speak just enough ZStack, and a runner that runs the suite against them."""
