function resolve() spawn.refuse("no") end
