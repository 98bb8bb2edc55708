function environment(ctx, env) env:set("A", "1") env:prepend("PATH", "/x") end
