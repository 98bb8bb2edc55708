function visible(ctx, t) return false end
