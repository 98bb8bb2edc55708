function resolve(ctx, t) table.insert(t.requests, "x/1") end
