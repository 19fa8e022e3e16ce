package dev.icedit.edit.locate;

import dev.icedit.tensor.IceditException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The documents of a text corpus, in a fixed order: a single file, or every text file under a folder (sorted by
 * path) with the text entries of .zip archives among them. Text is read as UTF-8; bytes that are not UTF-8 become
 * U+FFFD rather than failing, since corpora gathered from many sources mix encodings.
 */
final class TextCorpus {
    static final Set<String> TEXT_EXTENSIONS = Set.of("txt", "raw", "text", "md");
    /** Documents are handed out in pieces of at most this many characters, cut at line ends. */
    static final int PIECE_CHARS = 1 << 20;

    /** One document: a file or an archive entry. */
    record Document(Path file, String entry, long size) {
        String name() {
            return entry == null ? file.toString() : file + "!" + entry;
        }
    }

    private final Path root;
    private final List<Document> documents;

    private TextCorpus(Path root, List<Document> documents) {
        this.root = root;
        this.documents = documents;
    }

    static TextCorpus open(Path path) {
        List<Document> docs = new ArrayList<>();
        try {
            if (Files.isDirectory(path)) {
                List<Path> files;
                try (Stream<Path> s = Files.walk(path)) {
                    files = s.filter(Files::isRegularFile).sorted().toList();
                }
                for (Path f : files) {
                    String ext = extension(f.getFileName().toString());
                    if (ext.equals("zip")) {
                        addZip(f, docs);
                    } else if (TEXT_EXTENSIONS.contains(ext)) {
                        docs.add(new Document(f, null, Files.size(f)));
                    }
                }
            } else if (extension(path.getFileName().toString()).equals("zip")) {
                addZip(path, docs);
            } else {
                docs.add(new Document(path, null, Files.size(path)));
            }
        } catch (IOException e) {
            throw IceditException.inFile(path, "cannot read the corpus: " + e.getMessage());
        }
        if (docs.isEmpty()) {
            throw IceditException.inFile(path, "no text files in the corpus (looked for " + TEXT_EXTENSIONS
                    + " files and .zip archives of them)");
        }
        return new TextCorpus(path, Collections.unmodifiableList(docs));
    }

    private static void addZip(Path zip, List<Document> docs) throws IOException {
        try (ZipFile z = new ZipFile(zip.toFile())) {
            List<? extends ZipEntry> entries = z.stream()
                    .filter(e -> !e.isDirectory() && TEXT_EXTENSIONS.contains(extension(e.getName())))
                    .sorted(java.util.Comparator.comparing(ZipEntry::getName)).toList();
            for (ZipEntry e : entries) {
                docs.add(new Document(zip, e.getName(), Math.max(0, e.getSize())));
            }
        } catch (java.util.zip.ZipException e) {
            throw IceditException.inFile(zip, "not a readable zip archive: " + e.getMessage());
        }
    }

    private static String extension(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    Path root() {
        return root;
    }

    List<Document> documents() {
        return documents;
    }

    long totalBytes() {
        return documents.stream().mapToLong(Document::size).sum();
    }

    /** The document's text in pieces of at most {@link #PIECE_CHARS} characters, cut after a line end. */
    static final class Pieces implements AutoCloseable {
        private final Document doc;
        private final ZipFile zip;
        private final BufferedReader lines;
        private String pending;

        Pieces(Document d) {
            this.doc = d;
            try {
                CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
                InputStream in;
                if (d.entry() == null) {
                    zip = null;
                    in = Files.newInputStream(d.file());
                } else {
                    zip = new ZipFile(d.file().toFile());
                    in = zip.getInputStream(zip.getEntry(d.entry()));
                }
                lines = new BufferedReader(new InputStreamReader(in, utf8));
            } catch (IOException e) {
                throw IceditException.inFile(d.file(), "cannot read " + d.name() + ": " + e.getMessage());
            }
        }

        /** The next piece, or null at the end of the document. */
        String next() {
            try {
                StringBuilder piece = new StringBuilder();
                if (pending != null) {
                    piece.append(pending).append('\n');
                    pending = null;
                }
                String line;
                while ((line = lines.readLine()) != null) {
                    if (piece.length() + line.length() + 1 > PIECE_CHARS && piece.length() > 0) {
                        pending = line;
                        return piece.toString();
                    }
                    piece.append(line).append('\n');
                }
                return piece.isEmpty() ? null : piece.toString();
            } catch (IOException e) {
                throw IceditException.inFile(doc.file(), "cannot read " + doc.name() + ": " + e.getMessage());
            }
        }

        @Override
        public void close() {
            try {
                lines.close();
                if (zip != null) {
                    zip.close();
                }
            } catch (IOException ignored) {
                // nothing was written; a failed close loses nothing
            }
        }
    }
}
