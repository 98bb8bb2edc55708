function resolve(c, t) return setmetatable({command={"x"}}, {__index=function() end}) end
