-- wrk script: POST /petname with a form body (the Cookie header comes from -H).
wrk.method = "POST"
wrk.body = "pet=Rex"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
