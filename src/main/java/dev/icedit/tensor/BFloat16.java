package dev.icedit.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * BF16 conversions done on the host: DJL's PyTorch engine (0.36) aborts the JVM on any BF16 array, so BF16 weights
 * are widened to float32 when read and rounded back (to nearest even, as PyTorch rounds) when written.
 */
public final class BFloat16 {
    private BFloat16() {}

    /** Little-endian BF16 bytes to a new direct little-endian float32 buffer. */
    public static ByteBuffer toFloat32(ByteBuffer bf16) {
        ShortBuffer in = bf16.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        ByteBuffer out = ByteBuffer.allocateDirect(in.remaining() * 4).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer f = out.asFloatBuffer();
        while (in.hasRemaining()) {
            f.put(Float.intBitsToFloat((in.get() & 0xffff) << 16));
        }
        return out;
    }

    /** Little-endian float32 bytes to new little-endian BF16 bytes, rounding to nearest even. */
    public static ByteBuffer fromFloat32(ByteBuffer f32) {
        FloatBuffer in = f32.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        ByteBuffer out = ByteBuffer.allocate(in.remaining() * 2).order(ByteOrder.LITTLE_ENDIAN);
        while (in.hasRemaining()) {
            out.putShort(round(in.get()));
        }
        return out.flip();
    }

    static short round(float value) {
        if (Float.isNaN(value)) {
            return (short) 0x7fc0;
        }
        int bits = Float.floatToRawIntBits(value);
        int bias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + bias) >>> 16);
    }
}
