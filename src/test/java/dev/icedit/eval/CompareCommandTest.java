package dev.icedit.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.icedit.testing.CliRun;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `icedit compare` on the committed KnowEdit run directories (docs/results/knowedit): no model is loaded. */
class CompareCommandTest {
    static final String RUNS = "docs/results/knowedit/";
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aRunComparedWithItselfDiffersByExactlyZeroWithAZeroWidthInterval(@TempDir Path tmp) throws Exception {
        String ice = RUNS + "single/ZsRE/ICE";
        Path json = tmp.resolve("self.json");
        Path html = tmp.resolve("self.html");
        CliRun r = CliRun.of("compare", ice, ice, "--json", json.toString(), "--html", html.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode c = JSON.readTree(json.toFile());
        assertThat(c.get("cases").asInt()).isEqualTo(50);
        assertThat(c.get("protocol").asText()).isEqualTo("teacher-forced");
        assertThat(c.get("metrics").size()).isGreaterThan(8); // totals and per-type rows
        for (JsonNode m : c.get("metrics")) {
            JsonNode d = m.get("difference_from_first").get(1);
            assertThat(d.get("value").asDouble()).as(m.get("metric").asText()).isEqualTo(0.0);
            assertThat(d.get("ci95").get(0).asDouble()).isEqualTo(0.0);
            assertThat(d.get("ci95").get(1).asDouble()).isEqualTo(0.0);
            assertThat(d.get("share_tied").asDouble()).isEqualTo(1.0);
        }
        assertThat(r.out()).contains("50 cases of ZsRE").contains("portability").contains("Reasoning");
        assertThat(Files.readString(html)).contains("<svg").contains("teacher-forced protocol");
    }

    @Test
    void twoMethodsOnTheSameCasesGetAPairedDifference(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("c.json");
        CliRun r = CliRun.of("compare", RUNS + "single/ZsRE/FT-M", RUNS + "single/ZsRE/ICE", "--json", json.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode rephrase = null;
        for (JsonNode m : JSON.readTree(json.toFile()).get("metrics")) {
            if (m.get("metric").asText().equals("rephrase")) {
                rephrase = m;
            }
        }
        // the difference is the difference of the two means, and its interval lies around it
        double ftm = rephrase.get("values").get(0).get("value").asDouble();
        double ice = rephrase.get("values").get(1).get("value").asDouble();
        JsonNode d = rephrase.get("difference_from_first").get(1);
        assertThat(d.get("value").asDouble()).isCloseTo(ice - ftm, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(d.get("ci95").get(0).asDouble()).isLessThan(d.get("value").asDouble());
        assertThat(d.get("ci95").get(1).asDouble()).isGreaterThan(d.get("value").asDouble());
        assertThat(d.get("share_ahead").asDouble() + d.get("share_behind").asDouble() + d.get("share_tied").asDouble())
                .isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-12));
        System.out.println(r.out());
    }

    @Test
    void runsOverOtherCasesOtherDataOrAnotherProtocolAreRefusedInOneLine(@TempDir Path tmp) throws Exception {
        CliRun cases = CliRun.of("compare", RUNS + "single/ZsRE/ICE", RUNS + "continual/ZsRE/ICE");
        assertThat(cases.code()).isEqualTo(1);
        assertThat(cases.err().strip()).startsWith("error: ").doesNotContain("\n")
                .contains("holds other cases than").contains("100 cases, records 0..99, against 50, records 0..49");

        CliRun data = CliRun.of("compare", RUNS + "single/ZsRE/ICE", RUNS + "single/wiki_recent/ICE");
        assertThat(data.code()).isEqualTo(1);
        assertThat(data.err().strip()).doesNotContain("\n").contains("was run on other data than");

        Path other = tmp.resolve("generation-run");
        Files.createDirectories(other);
        Path source = Path.of(RUNS + "single/ZsRE/ICE");
        Files.copy(source.resolve("cases.jsonl"), other.resolve("cases.jsonl"));
        ObjectNode settings = (ObjectNode) JSON.readTree(source.resolve("run.json").toFile());
        settings.put("protocol", "generation");
        JSON.writeValue(other.resolve("run.json").toFile(), settings);
        CliRun protocol = CliRun.of("compare", source.toString(), other.toString());
        assertThat(protocol.code()).isEqualTo(1);
        assertThat(protocol.err().strip()).doesNotContain("\n")
                .contains("was measured under the generation protocol").contains("under teacher-forced");

        CliRun one = CliRun.of("compare", RUNS + "single/ZsRE/ICE");
        assertThat(one.code()).isEqualTo(2);
        CliRun missing = CliRun.of("compare", RUNS + "single/ZsRE/ICE", tmp.resolve("nowhere").toString());
        assertThat(missing.err()).contains("not a directory");
    }
}
