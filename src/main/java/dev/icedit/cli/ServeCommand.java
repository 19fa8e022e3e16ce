package dev.icedit.cli;

import dev.icedit.model.LanguageModel;
import dev.icedit.server.Limits;
import dev.icedit.server.ModelServer;
import dev.icedit.server.ServerOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve the model over HTTP: a REST API (see /openapi.json) and a playground page at /.",
            "Listens on 127.0.0.1 unless --host says otherwise; any other address needs --token."})
final class ServeCommand implements Callable<Integer> {
    static final String TOKEN_ENV = "ICEDIT_SERVER_TOKEN";

    @Mixin ModelOption model;
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--port", defaultValue = "7070", description = "TCP port (default ${DEFAULT-VALUE}; 0 = any free port)")
    int port;
    @Option(names = "--host", defaultValue = ServerOptions.DEFAULT_HOST,
            description = "address to listen on (default ${DEFAULT-VALUE}); a non-loopback address needs --token")
    String host;
    @Option(names = "--workdir", paramLabel = "DIR", defaultValue = "icedit-work",
            description = "the only directory requests may write patches and saved models into, by plain file names"
                    + " (default ./${DEFAULT-VALUE})")
    Path workdir;
    @Option(names = "--token", paramLabel = "T",
            description = "require 'Authorization: Bearer T' on every API request (or set $" + TOKEN_ENV
                    + ", which keeps it out of the process list)")
    String token;
    @Option(names = "--max-new-tokens", defaultValue = "256", description = "most tokens one generation may ask for"
            + " (default ${DEFAULT-VALUE})")
    int maxNewTokens;
    @Option(names = "--max-concurrent", defaultValue = "8", description = "most forward passes at once; more wait"
            + " (default ${DEFAULT-VALUE})")
    int maxConcurrent;
    @Option(names = "--chat-template", description = ModelOption.CHAT_TEMPLATE_HELP) boolean chatTemplate;

    @Override
    public Integer call() throws Exception {
        String t = token != null ? token : System.getenv(TOKEN_ENV);
        if (maxNewTokens < 1 || maxConcurrent < 1) {
            throw new dev.icedit.tensor.IceditException("--max-new-tokens and --max-concurrent must be >= 1");
        }
        // checked before the model loads, so a refused configuration fails at once
        ServerOptions options = new ServerOptions(host, port, workdir, t == null || t.isEmpty() ? null : t,
                Limits.defaults().withMaxNewTokens(maxNewTokens).withMaxConcurrentForwards(maxConcurrent));
        PrintWriter out = spec.commandLine().getOut();
        try (LanguageModel m = model.load(chatTemplate); ModelServer server = new ModelServer(m, options)) {
            Thread hook = new Thread(server::close, "icedit-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            server.start();
            out.printf("icedit: serving %s at %s/ (API description: %s/openapi.json)%n", m.directory(), server.url(),
                    server.url());
            out.printf("icedit: work directory %s; %s; Ctrl-C stops%n", server.workdir(),
                    options.token() == null ? "no token (loopback only)" : "bearer token required");
            out.flush();
            server.awaitStop();
        }
        return 0;
    }
}
