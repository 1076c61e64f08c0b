math.randomseed(42)
request = function()
  local size = math.random(1, 30)
  local west = math.random(-180, 180 - size)
  local south = math.random(-80, 80 - size)
  local path = string.format("/search?limit=10&bbox=%d,%d,%d,%d", west, south, west + size, south + size)
  if math.random() < 0.25 then
    path = path .. "&datetime=2019-01-01T00:00:00Z/2019-12-31T23:59:59Z"
  end
  return wrk.format("GET", path)
end
