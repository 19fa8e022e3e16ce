package dev.icedit.server;

/**
 * Bounds on what one request may ask of the server, so that no client can hold the model or the memory for long.
 *
 * @param maxBodyBytes largest request body
 * @param maxPromptChars longest prompt, continuation or context sentence, in characters
 * @param maxNewTokens most tokens one generation may produce
 * @param maxTopK most candidates a next-token request may list
 * @param maxRequestsPerEdit most facts in one edit
 * @param maxContextSentences most context sentences per fact
 * @param maxProbePrompts most rephrases, and most unrelated prompts, measured around one edit
 * @param maxEditSteps highest {@code num_steps} an edit's hyper-parameters may set
 * @param maxQueuedJobs most edit jobs waiting to run
 * @param maxConcurrentForwards most generations/scorings running at once; more wait their turn
 * @param keptJobs finished jobs remembered for status queries
 */
public record Limits(int maxBodyBytes, int maxPromptChars, int maxNewTokens, int maxTopK, int maxRequestsPerEdit,
        int maxContextSentences, int maxProbePrompts, int maxEditSteps, int maxQueuedJobs, int maxConcurrentForwards,
        int keptJobs) {

    public static Limits defaults() {
        return new Limits(64 * 1024, 2000, 256, 100, 16, 8, 8, 1000, 16, 8, 100);
    }

    public Limits withMaxNewTokens(int n) {
        return new Limits(maxBodyBytes, maxPromptChars, n, maxTopK, maxRequestsPerEdit, maxContextSentences,
                maxProbePrompts, maxEditSteps, maxQueuedJobs, maxConcurrentForwards, keptJobs);
    }

    public Limits withMaxConcurrentForwards(int n) {
        return new Limits(maxBodyBytes, maxPromptChars, maxNewTokens, maxTopK, maxRequestsPerEdit, maxContextSentences,
                maxProbePrompts, maxEditSteps, maxQueuedJobs, n, keptJobs);
    }
}
