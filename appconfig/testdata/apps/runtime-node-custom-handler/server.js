require("http").createServer((q, s) => s.end("hi")).listen(process.env.FUNCTIONS_CUSTOMHANDLER_PORT);
