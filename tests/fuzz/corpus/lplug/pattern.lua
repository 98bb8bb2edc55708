x = ("a"):rep(100) y = x:find(".-.-b")
